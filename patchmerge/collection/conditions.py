"""Conditions over `args`: simplified under truthiness, negated, split into the ANDed list a patch carries."""

from __future__ import annotations

import ast
import copy

from patchmerge.collection.values import Const, Sym, Value

_NEGATED_OPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}


def constant(value: object) -> ast.expr:
    return ast.Constant(value=value)


def truth(value: Value) -> Value:
    """What `if value:` sees: a Const bool, a Sym simplified as a predicate, or Unknown."""
    if isinstance(value, Const):
        return Const(bool(value.value))
    if isinstance(value, Sym):
        expr = simplify(value.expr)
        if isinstance(expr, ast.Constant):
            return Const(bool(expr.value))
        return Sym(expr, value.imports)
    return value


def simplify(expr: ast.expr) -> ast.expr:
    """Fold constant operands of and/or/not, read in a boolean context."""
    if isinstance(expr, ast.BoolOp):
        is_and = isinstance(expr.op, ast.And)
        kept: list[ast.expr] = []
        for operand in expr.values:
            part = simplify(operand)
            if isinstance(part, ast.Constant):
                if bool(part.value) != is_and:  # False in an `and`, True in an `or`: decides it
                    return constant(not is_and)
                continue  # True in an `and`, False in an `or`: no effect
            kept.extend(part.values if isinstance(part, ast.BoolOp) and type(part.op) is type(expr.op) else [part])
        if not kept:
            return constant(is_and)
        return kept[0] if len(kept) == 1 else ast.BoolOp(op=expr.op, values=kept)
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        return negate_expr(simplify(expr.operand))
    return expr


def negate_expr(expr: ast.expr) -> ast.expr:
    if isinstance(expr, ast.Constant):
        return constant(not expr.value)
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        return expr.operand
    if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):  # De Morgan: an ANDed list reads better
        return ast.BoolOp(op=ast.And(), values=[negate_expr(v) for v in expr.values])
    if isinstance(expr, ast.Compare) and len(expr.ops) == 1 and type(expr.ops[0]) in _NEGATED_OPS:
        return ast.Compare(left=expr.left, ops=[_NEGATED_OPS[type(expr.ops[0])]()], comparators=expr.comparators)
    return ast.UnaryOp(op=ast.Not(), operand=expr)


def negate(value: Value) -> Value:
    if isinstance(value, Const):
        return Const(not value.value)
    if isinstance(value, Sym):
        return Sym(negate_expr(value.expr), value.imports)
    return value


def conjoin(parts: tuple[Sym, ...]) -> Sym:
    if len(parts) == 1:
        return parts[0]
    imports = frozenset().union(*(p.imports for p in parts))
    return Sym(ast.BoolOp(op=ast.And(), values=[copy.copy(p.expr) for p in parts]), imports)


def disjoin(parts: list[tuple[Sym, ...]]) -> tuple[Sym, ...]:
    """OR of several ANDed lists, as an ANDed list (one item, unless it simplifies away)."""
    if any(not p for p in parts):
        return ()
    texts = [{s.text for s in p} for p in parts]
    # (a and x) or (not a): the common case of a branch that returned early on one path
    if len(parts) == 2 and len(parts[0]) == 1 and len(parts[1]) == 1:
        first, second = parts[0][0], parts[1][0]
        if ast.unparse(negate_expr(first.expr)) == second.text:
            return ()
    if all(t == texts[0] for t in texts):
        return parts[0]
    expr = ast.BoolOp(op=ast.Or(), values=[conjoin(p).expr for p in parts])
    return (Sym(expr, frozenset().union(*(s.imports for p in parts for s in p))),)


def split(conditions: tuple[Sym, ...]) -> list[Sym]:
    """The ANDed list a patch carries: top-level `and`s split, duplicates and constants dropped, and a negated
    equality implied by an equality on the same expression left out."""
    flat: list[Sym] = []
    for cond in conditions:
        expr = simplify(cond.expr)
        parts = expr.values if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.And) else [expr]
        for part in parts:
            if isinstance(part, ast.Constant):
                continue
            flat.append(Sym(part, frozenset(n for n in cond.imports if _uses(part, n))))
    seen: dict[str, Sym] = {}
    for cond in flat:
        seen.setdefault(cond.text, cond)
    equal = {}
    for cond in seen.values():
        if _is_compare(cond.expr, ast.Eq):
            equal.setdefault(ast.unparse(cond.expr.left), []).append(cond)  # type: ignore[attr-defined]
    result = []
    for cond in seen.values():
        if _is_compare(cond.expr, ast.NotEq):
            left = ast.unparse(cond.expr.left)  # type: ignore[attr-defined]
            if any(ast.unparse(e.expr.comparators[0]) != ast.unparse(cond.expr.comparators[0])  # type: ignore
                   for e in equal.get(left, []) if isinstance(e.expr.comparators[0], ast.Constant)):  # type: ignore
                continue
        result.append(cond)
    return result


def _is_compare(expr: ast.expr, op: type[ast.cmpop]) -> bool:
    return (isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], op)
            and isinstance(expr.comparators[0], ast.Constant))


def _uses(expr: ast.expr, dotted: str) -> bool:
    name = dotted.rsplit(".", 1)[-1]
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(expr))


def as_expr(value: Value) -> ast.expr | None:
    """The value as an expression a condition can hold (constants, args expressions, tuples of those)."""
    if isinstance(value, Const):
        return constant(value.value)
    if isinstance(value, Sym):
        return value.expr
    from patchmerge.collection.values import ListV

    if isinstance(value, ListV):
        items = [as_expr(v) for v in value.items]
        if all(i is not None for i in items):
            cls = ast.Tuple if value.is_tuple else ast.List
            return cls(elts=items, ctx=ast.Load())  # type: ignore[arg-type]
    return None


def imports_of(*values: Value) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for v in values:
        if isinstance(v, Sym):
            out |= v.imports
    return out
