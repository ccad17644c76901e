#!/usr/bin/env python3
"""Print the cycles of usagectl's module import graph (from `use crate::` lines and
`crate::a::b` paths), as strongly connected components of more than one module.

Run: python3 scripts/module-cycles.py   (exit 1 when a cycle other than cli <-> cmd exists)
"""
import os, re, sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3]
    parts = rel.split(os.sep)
    if parts[-1] == "mod":
        parts = parts[:-1]
    if parts in (["lib"], ["main"]):
        return None
    return parts

def top(parts):
    # group nested modules by their first two levels under cmd/db (cmd::x, db::queries)
    if parts[0] == "cmd":
        return "cmd"
    if parts[0] == "db":
        return "db"
    return parts[0]

modules = {}
for dp, _, files in os.walk(ROOT):
    for f in files:
        if f.endswith(".rs"):
            p = os.path.join(dp, f)
            m = module_of(p)
            if m:
                modules[p] = m

edges = defaultdict(set)
cross = []
pat = re.compile(r"crate::([a-z_]+)")
for p, m in modules.items():
    src = open(p).read()
    # drop #[cfg(test)] modules: tests may import anything
    src = re.split(r"#\[cfg\(test\)\]\s*mod tests", src)[0]
    # comments and doc links are not dependencies
    src = "\n".join(l for l in src.splitlines() if not l.lstrip().startswith("//"))
    a = top(m)
    if a == "cmd" and m[-1] != "cmd" and len(m) >= 2:
        # a command may use its own submodules, never another command
        own = m[1]
        for group in re.findall(r"crate::cmd::(\{[^}]*\}|[a-z_]+)", src):
            for other in re.findall(r"[a-z_]+", group):
                if other != own:
                    cross.append(("::".join(m), other))
    for tgt in pat.findall(src):
        if tgt != a and tgt not in ("exit_codes",):
            edges[a].add(tgt)

nodes = set(edges) | {t for ts in edges.values() for t in ts}
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in sorted(nodes):
    if v not in index:
        strong(v)
bad = [c for c in sccs if len(c) > 1 and c != ["cli", "cmd"]]
for c in sccs:
    if len(c) > 1:
        print("cycle:", " <-> ".join(c))
        for a in c:
            print("   ", a, "->", ", ".join(sorted(t for t in edges[a] if t in c)))
for a, b in cross:
    print("command imports another command:", a, "->", b)
if not bad and not cross:
    print("no cycle except cli <-> cmd")
sys.exit(1 if bad or cross else 0)
