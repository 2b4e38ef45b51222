#!/usr/bin/env python3
"""Finds import circles between the crate's modules: `tools/import_circles.py`, from the top
of the repository. A module is a file (`src/install/transaction.rs` is
`install::transaction`, `backends/upstart/mod.rs` is `backends::upstart`); it depends on every
module a `use` or a path in its code names (`crate::...`, `super::...`), taken to the
longest module the path starts with. A module and its own parent or child are one unit (a
parent declares its children, a child may use what its parent defines), so only edges between
modules neither of which contains the other count. `#[cfg(test)]` modules are left out.
Prints each circle (a strongly connected set of modules) and their count; exits 1 when there
is one."""

import re
import sys
from pathlib import Path

ROOTS = [("src", ()), ("backends", ("backends",))]
IDENT = r"[a-z_][a-z0-9_]*"


def modules():
    """Every module's path (a tuple of names) and its file."""
    found = {}
    for root, prefix in ROOTS:
        for path in sorted(Path(root).rglob("*.rs")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] in ("mod", "lib", "main"):
                parts.pop()
            found[prefix + tuple(parts)] = path
    return found


def strip_tests(text):
    """The text without `#[cfg(test)]` modules (rustfmt layout: closed at their indent)."""
    out, skip = [], None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if skip is not None:
            if line == skip + "}":
                skip = None
            continue
        if line.strip() == "#[cfg(test)]" and i + 1 < len(lines):
            nxt = lines[i + 1]
            m = re.match(r"^(\s*)(pub(\(\w+\))? )?mod \w+ \{$", nxt)
            if m:
                skip = m.group(1)
                continue
        out.append(line)
    return "\n".join(out)


def expand(tree):
    """`a::{b, c::{d, e}}` -> `a::b`, `a::c::d`, `a::c::e` (names only, `as` dropped)."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)\{(.*)\}$", tree)
    if not m:
        return [re.sub(r"as\w+$", "", tree)]
    head, body = m.group(1), m.group(2)
    items, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    return [p for item in items if item for p in expand(head + item)]


def references(module, text):
    """Every module path `module`'s text names, absolute."""
    paths = []
    for stmt in re.findall(r"\buse\s+([^;]+);", text):
        paths += expand(stmt)
    paths += re.findall(rf"(?<![\w:])((?:crate|super)(?:::{IDENT})+)", text)
    absolute = []
    for p in paths:
        parts = [x for x in p.split("::") if x]
        if not parts:
            continue
        if parts[0] == "crate":
            absolute.append(tuple(parts[1:]))
        elif parts[0] == "super":
            base = list(module)
            while parts and parts[0] == "super":
                base = base[:-1]
                parts = parts[1:]
            absolute.append(tuple(base + parts))
        elif parts[0] == "self":
            absolute.append(tuple(list(module) + parts[1:]))
    return absolute


def longest_module(path, known):
    for n in range(len(path), 0, -1):
        if path[:n] in known:
            return path[:n]
    return None


def related(a, b):
    return a[: len(b)] == b or b[: len(a)] == a


def circles(graph):
    """Tarjan's strongly connected components with more than one module."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    known = modules()
    graph = {m: set() for m in known}
    for module, path in known.items():
        text = strip_tests(path.read_text())
        for ref in references(module, text):
            target = longest_module(ref, known)
            if target and not related(module, target):
                graph[module].add(target)
    found = circles(graph)
    for comp in found:
        names = ["::".join(m) for m in comp]
        edges = [
            f"{'::'.join(a)} -> {'::'.join(b)}"
            for a in comp
            for b in sorted(graph[a])
            if b in comp
        ]
        print(f"circle: {', '.join(names)}\n  " + "\n  ".join(edges))
    print(f"import circles: {len(found)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
