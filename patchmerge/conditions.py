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
    free_names: frozenset[str]  # names read that are not builtins


def parse_condition(text: object) -> ParsedCondition:
    """Parse one condition; raise ConditionError with a reason a person can act on."""
    if not isinstance(text, str):
        raise ConditionError(f"must be a string holding a Python expression, got {type(text).__name__}")
    if not text.strip():
        raise ConditionError("is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
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
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return ParsedCondition(text=text.strip(), tree=tree, free_names=frozenset(names - _BUILTIN_NAMES))


def unknown_names(condition: ParsedCondition, condition_import: tuple[str, ...], args_name: str = "args") -> list[str]:
    """Names a condition reads that neither `args` nor its condition_import provide."""
    provided = {args_name} | {dotted.rsplit(".", 1)[-1] for dotted in condition_import}
    return sorted(condition.free_names - provided)
