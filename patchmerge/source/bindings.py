"""Which names a module-level statement binds, read with `ast`."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Guard:
    """An enclosing statement that makes a binding conditional."""

    kind: str  # "try" (try body or its else), "except" (a handler), "if" (if body), "else" (else/elif branch)
    line: int  # line of the try / if statement, which identifies it


def guarded_statements(
    body: Sequence[ast.stmt], guards: tuple[Guard, ...] = ()
) -> Iterator[tuple[ast.stmt, tuple[Guard, ...]]]:
    """Each simple statement, def or class a module (or class) body runs at its own level, with the if/try
    statements around it: inside an if (not `if __name__ == "__main__":`, nor the body of `if TYPE_CHECKING:`),
    a try's body, handlers, else and finally, a with's or a loop's body."""
    for st in body:
        if isinstance(st, ast.If):
            if is_main_guard(st.test):
                continue
            if not is_type_checking(st.test):
                yield from guarded_statements(st.body, (*guards, Guard("if", st.lineno)))
            yield from guarded_statements(st.orelse, (*guards, Guard("else", st.lineno)))
        elif isinstance(st, ast.Try | ast.TryStar):
            inner = (*guards, Guard("try", st.lineno)) if st.handlers else guards
            yield from guarded_statements(st.body, inner)
            for handler in st.handlers:
                yield from guarded_statements(handler.body, (*guards, Guard("except", st.lineno)))
            yield from guarded_statements(st.orelse, inner)
            yield from guarded_statements(st.finalbody, guards)
        elif isinstance(st, ast.With | ast.AsyncWith):
            yield from guarded_statements(st.body, guards)
        elif isinstance(st, ast.For | ast.AsyncFor | ast.While):
            yield from guarded_statements(st.body, guards)
            yield from guarded_statements(st.orelse, guards)
        else:
            yield st, guards


def bound_at_run_time(tree: ast.Module, name: str) -> bool:
    """Whether a statement the module runs at its own level binds `name` (one under `if TYPE_CHECKING:` never
    runs)."""
    return any(name in names_bound(statement) for statement, _ in guarded_statements(tree.body))


def imported_when_loaded(tree: ast.Module) -> set[str]:
    """The absolute modules (and their packages) that importing the module surely imports: its import statements
    at its own top level (not in an if, try, with or loop)."""
    modules: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom) and not statement.level and statement.module:
            names = [statement.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            modules.update(".".join(parts[: n + 1]) for n in range(len(parts)))
    return modules


def names_bound(statement: ast.stmt) -> set[str]:
    """The module-level names a top-level statement binds (not those local to the defs, classes, lambdas and
    comprehensions in it; a walrus in a comprehension does bind in the module, and counts)."""
    return {name for name, _ in binders(statement)}


def binders(statement: ast.stmt) -> Iterator[tuple[str, ast.AST]]:
    """Each module-level name a top-level statement binds (see `names_bound`), with the node that binds it: a
    def or class, a stored name (a walrus's target too), or an import."""
    todo: list[ast.AST] = [statement]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name, node
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            yield from ((n.target.id, n.target) for n in ast.walk(node) if isinstance(n, ast.NamedExpr)
                        and isinstance(n.target, ast.Name))
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            yield node.id, node
        elif isinstance(node, ast.Import | ast.ImportFrom):
            yield from ((alias.asname or alias.name.split(".")[0], node) for alias in node.names if alias.name != "*")
        todo.extend(ast.iter_child_nodes(node))


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


def last_binding(bindings: Sequence[T], in_handler: Callable[[T], bool]) -> tuple[T | None, list[T]]:
    """The binding of a name a module holds after it ran, of its bindings in source order, plus the others: the
    last one, except that one in an except handler does not override a binding made outside handlers (the try
    body is taken to succeed); of bindings in handlers only, the last (a handler runs its statements in order)."""
    winner: T | None = None
    others: list[T] = []
    for binding in bindings:
        if winner is not None and in_handler(binding) and not in_handler(winner):
            others.append(binding)
            continue
        if winner is not None:
            others.append(winner)
        winner = binding
    return winner, others
