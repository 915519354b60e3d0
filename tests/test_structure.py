"""labrun's modules form layers: no import cycle, counting imports inside functions.

A lower module that needs a higher one is a design error even when an import inside a
function hides it from Python (it did: provision, estimate, plan and teardown imported each
other). The graph is read with `ast`, so every `import` counts, wherever it is written.
"""

from __future__ import annotations

import ast
from pathlib import Path

import labrun

SOURCE = Path(labrun.__file__).parent


def module_names() -> dict[str, Path]:
    names: dict[str, Path] = {}
    for path in SOURCE.rglob("*.py"):
        parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The labrun modules `name` imports, anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    # A package that exposes its own submodules is their namespace, not a layer above
    # them: Python imports the package before any of its submodules anyway.
    return {m for m in found if m in known and m != name and not m.startswith(name + ".")}


def import_graph() -> dict[str, set[str]]:
    known = module_names()
    return {name: imported(name, path, known) for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph (its modules in import order), or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_labrun_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_teardown_does_not_import_provision() -> None:
    assert "labrun.provision" not in import_graph()["labrun.teardown"]


def test_the_graph_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The detector itself: a cycle hidden in a function is still one."""
    (tmp_path / "low.py").write_text("def f():\n    from labrun import high\n")
    (tmp_path / "high.py").write_text("from labrun import low\n")
    known = {"labrun.low": tmp_path / "low.py", "labrun.high": tmp_path / "high.py"}
    graph = {name: imported(name, path, known) for name, path in known.items()}
    assert find_cycle(graph) == ["labrun.high", "labrun.low", "labrun.high"]
