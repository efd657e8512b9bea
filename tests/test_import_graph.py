"""The project's import graph has no cycle between modules, and none between top-level packages but
the one listed below, which is to be broken (issue 38, item 8), never added to. Every import counts, those inside functions too: a lazy import hides a
cycle from Python, not from a reader. A cycle that is broken must leave the list (the test says so).
"""

from __future__ import annotations

import ast
from pathlib import Path

from casehistory.settings import PROJECT_ROOT

PACKAGES = ("casehistory", "ingest", "expectations", "dags")

# Modules that import each other, directly or round a loop (a strongly connected component each):
# none left (the readiness steps moved to casehistory.pipeline, the names of codes to the vocabulary).
KNOWN_MODULE_CYCLES: set[frozenset[str]] = set()
# Top-level packages that import each other (ingest uses casehistory's vocabulary, identifiers,
# store and crash points; casehistory's pipeline runs ingest and the checks).
KNOWN_PACKAGE_CYCLES = {
    frozenset({"casehistory", "ingest", "expectations"}),
}


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """{module: the project's modules it imports}. `from package import name` is an import of the
    submodule `name` when there is one, else of the package itself."""
    known = modules(root, packages)

    def owner(name: str) -> str | None:  # the project module a dotted name lives in
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                edges.update(filter(None, (owner(alias.name) for alias in node.names)))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else owner(base)
                    if target:
                        edges.add(target)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components with more than one node (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    top = {name: name.partition(".")[0] for name in graph}
    packages: dict[str, set[str]] = {package: set() for package in top.values()}
    for name, edges in graph.items():
        packages[top[name]].update(top[edge] for edge in edges if top[edge] != top[name])
    return packages


def _compare(found: set[frozenset[str]], known: set[frozenset[str]]) -> None:
    new = [sorted(c) for c in found - known]
    assert not new, f"a new import cycle: {new}; break it (a module that both need, or import one way only)"
    gone = [sorted(c) for c in known - found]
    assert not gone, f"an import cycle listed as known is gone or changed: {gone}; update the list in {__file__}"


def test_no_module_import_cycle_but_the_known_ones():
    _compare(cycles(import_graph(PROJECT_ROOT, PACKAGES)), KNOWN_MODULE_CYCLES)


def test_no_package_import_cycle_but_the_known_ones():
    _compare(cycles(package_graph(import_graph(PROJECT_ROOT, PACKAGES))), KNOWN_PACKAGE_CYCLES)


def test_a_new_cycle_is_found_even_through_an_import_inside_a_function(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from pkg.sub import b\n")  # a package importing its module: no cycle
    (package / "a.py").write_text("from pkg.sub.b import thing\n")
    (package / "sub" / "b.py").write_text("thing = 1\n\ndef later():\n    from pkg import a\n")
    (package / "c.py").write_text("from . import a\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.c"] == {"pkg.a"} and graph["pkg.sub"] == {"pkg.sub.b"}
    assert cycles(graph) == {frozenset({"pkg.a", "pkg.sub.b"})}
    (package / "sub" / "b.py").write_text("thing = 1\n")
    assert cycles(import_graph(tmp_path, ("pkg",))) == set()
