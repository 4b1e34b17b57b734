"""No import circle in the package: the graph of which module imports which, read from the source (imports
inside functions too, those under `if TYPE_CHECKING:` left out), has no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import patchmerge

PACKAGE = Path(patchmerge.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under `if TYPE_CHECKING:` (imports a type checker reads, never run)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
    return skipped


def _imported(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: dict[str, Path]) -> set[str]:
    """The package's modules an import statement names (the module imported from, or a submodule it names)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            parts = module.split(".") if is_package else module.split(".")[:-1]
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    targets = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            targets.add(name)
    return targets


def import_graph() -> dict[str, set[str]]:
    known = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_only(tree)
        edges = graph.setdefault(module, set())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skipped:
                edges |= _imported(module, path.name == "__init__.py", node, known)
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_the_package_has_no_import_circle():
    graph = import_graph()
    assert len(graph) > 50 and graph["patchmerge.cli"]  # the graph really was read
    found = cycle(graph)
    assert found is None, "import circle: " + " -> ".join(found or [])


def test_a_circle_is_found():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_the_hook_specifications_and_the_plugin_types_depend_on_no_engine():
    graph = import_graph()
    data = {"patchmerge.errors", "patchmerge.markers", "patchmerge.model", "patchmerge.profile",
            "patchmerge.bundled", "patchmerge.conditions", "patchmerge.profile_runtime"}
    assert graph["patchmerge.plugin_types"] <= data, graph["patchmerge.plugin_types"]
    assert graph["patchmerge.profile"] <= data
    hookspecs = ast.parse((PACKAGE / "hookspecs.py").read_text(encoding="utf-8"))
    named = {node.module for node in ast.walk(hookspecs) if isinstance(node, ast.ImportFrom) and node.module}
    assert {m for m in named if m.startswith("patchmerge")} == {"patchmerge.plugin_types"}


def test_the_source_model_is_a_leaf_the_engines_share():
    """`patchmerge.source` imports nothing of the engines; resolution, collection, plan and fusion read it."""
    graph = import_graph()
    source = {module for module in graph if module.startswith("patchmerge.source")}
    outside = {target for module in source for target in graph[module] if not target.startswith("patchmerge.source")}
    assert outside <= {"patchmerge.markers", "patchmerge.gc_paused"}, outside  # leaves of their own
    for engine in ("resolution", "collection", "plan", "fusion"):
        users = {m for m in graph if m.startswith(f"patchmerge.{engine}") and graph[m] & source}
        assert users, f"patchmerge.{engine} reads the source model"
