"""Which names a module-level statement binds, read with `ast`."""

from __future__ import annotations

import ast
from collections.abc import Iterator


def names_bound(statement: ast.stmt) -> set[str]:
    """The module-level names a top-level statement binds (not those local to the defs, classes, lambdas and
    comprehensions in it; a walrus in a comprehension does bind in the module, and counts)."""
    names: set[str] = set()
    todo: list[ast.AST] = [statement]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            names |= {n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr)
                      and isinstance(n.target, ast.Name)}
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names if alias.name != "*"}
        todo.extend(ast.iter_child_nodes(node))
    return names


def target_names(target: ast.expr) -> Iterator[str]:
    """The names an assignment target binds in its own namespace (an attribute or subscript binds none)."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from target_names(element)
    elif isinstance(target, ast.Starred):
        yield from target_names(target.value)


def is_main_guard(test: ast.expr) -> bool:
    """`if __name__ == "__main__":`, which never runs on import."""
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:`, never true when the module runs."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )
