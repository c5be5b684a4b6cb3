#!/usr/bin/env python3
"""Who imports whom among the driver's top-level modules (the folders and the root files).

Prints one line per module, `module -> imported modules`, then fails (exit 1) naming the
cycle if any import leads back to where it started. Imports are read from the source:
`crate::x` paths and the first segment of each item of a `use crate::{...}` list.
Comments are ignored. Used by `tests/static_checks.py` (part of `make check`).
"""

import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def top_module(path):
    """`ctrl/ns.rs` -> `ctrl`, `queue.rs` -> `queue`."""
    return path.split("/")[0].removesuffix(".rs")


def imports(src, own):
    """The top-level modules `src` names, other than `own`."""
    src = re.sub(r"//[^\n]*", "", src)
    found = set()
    for m in re.finditer(r"crate::(\w+)", src):
        found.add(m.group(1))
    for m in re.finditer(r"use crate::\{", src):
        j, depth, item = m.end(), 1, True
        while depth > 0 and j < len(src):
            c = src[j]
            if depth == 1 and item:
                w = re.match(r"\s*(\w+)", src[j:])
                if w:
                    found.add(w.group(1))
                item = False
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif c == "," and depth == 1:
                item = True
            j += 1
    return found - {own}


def graph():
    files = subprocess.check_output(["git", "ls-files", "*.rs"], cwd=TOP, text=True).split()
    modules = {top_module(f) for f in files}
    edges = {}
    for f in files:
        own = top_module(f)
        with open(os.path.join(TOP, f)) as fh:
            # Only names that are modules: `crate::quirk_override` is a function of the root.
            edges.setdefault(own, set()).update(imports(fh.read(), own) & modules)
    return edges


def find_cycle(edges):
    """A list of modules that leads back to its first one, or None."""
    state = {}

    def visit(n, path):
        state[n] = "open"
        for m in sorted(edges.get(n, ())):
            if state.get(m) == "open":
                return path[path.index(m):] + [m]
            if m not in state:
                c = visit(m, path + [m])
                if c:
                    return c
        state[n] = "done"
        return None

    for n in sorted(edges):
        if n not in state:
            c = visit(n, [n])
            if c:
                return c
    return None


def main():
    edges = graph()
    for n in sorted(edges):
        print(f"{n} -> {', '.join(sorted(edges[n])) or '(nothing of the driver)'}")
    cycle = find_cycle(edges)
    if cycle:
        print("cycle: " + " -> ".join(cycle))
        return 1
    print("acyclic")
    return 0


if __name__ == "__main__":
    sys.exit(main())
