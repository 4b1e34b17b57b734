"""Conditions are Python expressions that will be written into source: check them strictly."""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

# Constructs that are expressions to the parser but never a sane predicate over args:
# a lambda is always truthy, and the others have side effects or suspend the caller.
_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Lambda: "a lambda (always true; a condition must be a predicate over args)",
    ast.NamedExpr: "an assignment expression (:=)",
    ast.Yield: "a yield",
    ast.YieldFrom: "a yield from",
    ast.Await: "an await",
}

_BUILTIN_NAMES = frozenset(dir(builtins))


class ConditionError(ValueError):
    """The condition text is not one acceptable Python expression."""


@dataclass(frozen=True)
class ParsedCondition:
    text: str
    tree: ast.Expression
    free_names: frozenset[str]  # names read from the surroundings that are not builtins


def parse_condition(text: object) -> ParsedCondition:
    """Parse one condition; raise ConditionError with a reason a person can act on."""
    if not isinstance(text, str):
        raise ConditionError(f"must be a string holding a Python expression, got {type(text).__name__}")
    if not text.strip():
        raise ConditionError("is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (RecursionError, MemoryError):
        raise ConditionError("is nested too deeply to parse") from None
    except SyntaxError as exc:
        try:
            ast.parse(text.strip(), mode="exec")
        except SyntaxError:
            raise ConditionError(f"is not valid Python ({exc.msg})") from None
        raise ConditionError("is a statement, not an expression") from None
    for node in ast.walk(tree):
        reason = _FORBIDDEN.get(type(node))
        if reason:
            raise ConditionError(f"contains {reason}")
    try:
        names = _free_names(tree.body, frozenset())
    except RecursionError:
        raise ConditionError("is nested too deeply to parse") from None
    return ParsedCondition(text=text.strip(), tree=tree, free_names=frozenset(names - _BUILTIN_NAMES))


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _free_names(node: ast.AST, bound: frozenset[str]) -> set[str]:
    """Names the expression reads from its surroundings: loaded names, minus those a comprehension binds
    in its own scope (its targets). Lambdas never get here (they are rejected above)."""
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) and node.id not in bound else set()
    if not isinstance(node, _COMPREHENSIONS):
        return {name for child in ast.iter_child_nodes(node) for name in _free_names(child, bound)}
    names: set[str] = set()
    inner = bound
    for position, generator in enumerate(node.generators):
        # the first iterable is evaluated in the enclosing scope, the rest inside the comprehension
        names |= _free_names(generator.iter, bound if position == 0 else inner)
        inner = inner | {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)
                         and isinstance(n.ctx, ast.Store)}
        names |= _free_names(generator.target, inner)  # e.g. `for args.x in ...` reads args
        for test in generator.ifs:
            names |= _free_names(test, inner)
    results = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
    for result in results:
        names |= _free_names(result, inner)
    return names


def unknown_names(condition: ParsedCondition, condition_import: tuple[str, ...], args_name: str = "args") -> list[str]:
    """Names a condition reads that neither `args` nor its condition_import provide."""
    provided = {args_name} | {dotted.rsplit(".", 1)[-1] for dotted in condition_import}
    return sorted(condition.free_names - provided)
