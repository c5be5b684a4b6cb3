"""Checks of the source tree that need no guest, run first by `tests/check.py`.

Each returns (passed, description) pairs for the report:
- the import graph of the top-level modules is acyclic (`scripts/import-graph.py`);
- `unsafe` blocks and `kernel::bindings` appear only in `abstractions/` (outside it only
  `unsafe impl` of the byte traits `AsBytes`/`FromBytes`);
- every `#[kunit_tests(...)]` suite is in `suite.KUNIT_SUITES`, so the report notices
  one that stops running;
- no generated file (`__pycache__`, `*.pyc`, `*.o`, `*.ko`, bindgen's `*_generated.rs`) is
  tracked by git;
- every guest test script is in a run of `suite.RUNS`, and every run's scripts exist;
- no source file over `MAX_FILE_LINES` lines, no function over `MAX_FN_LINES`;
- no module imports its parent's whole namespace (`use super::*;` outside test modules).
"""

import importlib.util
import os
import re
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What a reader can hold: a file, a function (issue 34).
MAX_FILE_LINES = 800
MAX_FN_LINES = 80


def _sources():
    files = subprocess.check_output(["git", "ls-files", "*.rs"], cwd=TOP, text=True).split()
    out = {}
    for f in files:
        with open(os.path.join(TOP, f)) as fh:
            out[f] = fh.read()
    return out


def _code(src):
    """`src` without comments (doc comments mention `unsafe` and `bindings` freely)."""
    return re.sub(r"//[^\n]*", "", src)


def import_graph():
    path = os.path.join(TOP, "scripts", "import-graph.py")
    spec = importlib.util.spec_from_file_location("import_graph", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cycle = mod.find_cycle(mod.graph())
    what = "no import cycle" if cycle is None else "import cycle " + " -> ".join(cycle)
    return [(cycle is None, f"static: top-level modules import downward only ({what})")]


def unsafe_only_in_abstractions(sources):
    byte_impl = re.compile(r"unsafe\s+impl\s+((kernel::)?transmute::)?(AsBytes|FromBytes)\s+for\b")
    bad = []
    for f, src in sources.items():
        if f.startswith("abstractions/") or f == "abstractions.rs":
            continue
        code = _code(src)
        for m in re.finditer(r"\bunsafe\b", code):
            if not byte_impl.match(code, m.start()):
                bad.append(f)
                break
        if "bindings::" in code:
            bad.append(f + " (bindings)")
    what = ", ".join(sorted(set(bad))) or "none"
    return [(not bad, f"static: unsafe and kernel::bindings only in abstractions/ "
                      f"(outside: {what})")]


def kunit_suites_listed(sources, listed):
    declared = set()
    for src in sources.values():
        declared.update(re.findall(r"#\[kunit_tests\((\w+)\)\]", src))
    missing = sorted(declared - set(listed))
    stale = sorted(set(listed) - declared)
    return [(not missing and not stale,
             f"static: every KUnit suite is in KUNIT_SUITES ({len(declared)} suites; "
             f"missing {missing or 'none'}, not declared {stale or 'none'})")]


def no_generated_files():
    files = subprocess.check_output(["git", "ls-files"], cwd=TOP, text=True).split()
    bad = [f for f in files if "__pycache__" in f or f.endswith((".pyc", ".o", ".ko", "_generated.rs"))]
    return [(not bad, f"static: no generated files in git ({', '.join(bad) or 'none'})")]


def guest_tests_listed(runs):
    tests = os.path.join(TOP, "tests")
    used = {t for r in runs for t in r["tests"]}
    present = {f for f in os.listdir(tests) if f.startswith("test_") and f.endswith(".sh")}
    missing, unused = sorted(used - present), sorted(present - used)
    return [(not missing and not unused,
             f"static: every guest test runs and exists ({len(present)} scripts; "
             f"missing {missing or 'none'}, in no run {unused or 'none'})")]


def _blank_literals(src):
    """`src` with comments, string and character literals blanked (newlines kept), so
    that only code's own braces count."""
    out, i, n = list(src), 0, len(src)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif m := re.compile(r'(b?r(#*)")').match(src, i):
            j = src.find('"' + m.group(2), m.end())
            j = n if j < 0 else j + 1 + len(m.group(2))
        elif src[i] == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
        elif m := re.compile(r"'(\\[^']+|[^'\\])'").match(src, i):
            j = m.end()
        else:
            i += 1
            continue
        blank(i, j)
        i = j
    return "".join(out)


def _fn_lengths(src):
    """(name, first line, lines) of each function with a body in `src`, found by matching
    braces in the code without comments, strings and character literals."""
    code = _blank_literals(src)
    out = []
    for m in re.finditer(r"\bfn\s+(\w+)", code):
        i = m.end()
        # The body starts at the first `{` at nesting depth 0 of the signature; a `;`
        # before it is a declaration without a body.
        depth = 0
        while i < len(code):
            c = code[i]
            if c in "(<[":
                depth += 1
            elif c in ")>]" and depth > 0:
                depth -= 1
            elif c == ";" and depth == 0:
                i = -1
                break
            elif c == "{" and depth == 0:
                break
            i += 1
        if i < 0 or i >= len(code):
            continue
        level, j = 0, i
        while j < len(code):
            if code[j] == "{":
                level += 1
            elif code[j] == "}":
                level -= 1
                if level == 0:
                    break
            j += 1
        first = code.count("\n", 0, m.start()) + 1
        out.append((m.group(1), first, code.count("\n", m.start(), j) + 1))
    return out


def sizes(sources):
    long_files = [f"{f} ({n})" for f, src in sorted(sources.items())
                  if (n := src.count("\n")) > MAX_FILE_LINES]
    long_fns = [f"{f}:{line} {name} ({n})" for f, src in sorted(sources.items())
                for name, line, n in _fn_lengths(src) if n > MAX_FN_LINES]
    return [(not long_files, f"static: no file over {MAX_FILE_LINES} lines "
                             f"(over: {', '.join(long_files) or 'none'})"),
            (not long_fns, f"static: no function over {MAX_FN_LINES} lines "
                           f"(over: {', '.join(long_fns) or 'none'})")]


def no_glob_super_imports(sources):
    bad = sorted(f for f, src in sources.items() if re.search(r"^use super::\*;", src, re.M))
    return [(not bad, f"static: no top-level 'use super::*' ({', '.join(bad) or 'none'})")]


def run(suite):
    sources = _sources()
    return (import_graph() + unsafe_only_in_abstractions(sources)
            + kunit_suites_listed(sources, suite.KUNIT_SUITES) + no_generated_files()
            + guest_tests_listed(suite.RUNS) + sizes(sources) + no_glob_super_imports(sources))
