"""Checks of the source tree that need no guest, run first by `tests/check.py`.

Each returns (passed, description) pairs for the report:
- the import graph of the top-level modules is acyclic (`scripts/import-graph.py`);
- `unsafe` blocks and `kernel::bindings` appear only in `abstractions/` (outside it only
  `unsafe impl` of the byte traits `AsBytes`/`FromBytes`);
- every `#[kunit_tests(...)]` suite is in `suite.KUNIT_SUITES`, so the report notices
  one that stops running;
- no generated file (`__pycache__`, `*.pyc`, `*.o`, `*.ko`) is tracked by git;
- every guest test script is in a run of `suite.RUNS`, and every run's scripts exist.
"""

import importlib.util
import os
import re
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
    bad = [f for f in files if "__pycache__" in f or f.endswith((".pyc", ".o", ".ko"))]
    return [(not bad, f"static: no generated files in git ({', '.join(bad) or 'none'})")]


def guest_tests_listed(runs):
    tests = os.path.join(TOP, "tests")
    used = {t for r in runs for t in r["tests"]}
    present = {f for f in os.listdir(tests) if f.startswith("test_") and f.endswith(".sh")}
    missing, unused = sorted(used - present), sorted(present - used)
    return [(not missing and not unused,
             f"static: every guest test runs and exists ({len(present)} scripts; "
             f"missing {missing or 'none'}, in no run {unused or 'none'})")]


def run(suite):
    sources = _sources()
    return (import_graph() + unsafe_only_in_abstractions(sources)
            + kunit_suites_listed(sources, suite.KUNIT_SUITES) + no_generated_files()
            + guest_tests_listed(suite.RUNS))
