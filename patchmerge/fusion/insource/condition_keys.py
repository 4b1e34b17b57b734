"""What a condition reads of `args`: the keys it reads, those it reads only with a default, those it shows
`args` has when it holds, and whether an earlier condition of a patch holds a guard's condition."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patchmerge.fusion.insource.adaptor_args import Guard


def condition_keys(tree: ast.Expression, args_name: str = "args") -> set[str] | None:
    """The `args.<key>` a condition reads (also through getattr/hasattr with a plain name); None when it uses
    args any other way (handed to a function, say), which a parse of some options cannot stand for."""
    keys: set[str] = set()
    covered: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == args_name:
            keys.add(node.attr)
            covered.add(id(node.value))
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
            and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) and node.args[0].id == args_name
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
        ):
            keys.add(node.args[1].value)
            covered.add(id(node.args[0]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == args_name and id(node) not in covered:
            return None
    return keys



def guarded_keys(tree: ast.Expression, args_name: str = "args") -> set[str]:
    """The keys a condition reads only with a default (`getattr(args, 'k', d)`) or asks about (`hasattr`)."""
    guarded: set[str] = set()
    plain: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == args_name:
            plain.add(node.attr)
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name) and node.args[0].id == args_name
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
        ):
            with_default = node.func.id == "getattr" and len(node.args) == 3
            (guarded if with_default or node.func.id == "hasattr" else plain).add(node.args[1].value)
    return guarded - plain



def ensured_keys(tree: ast.Expression | ast.expr, args_name: str = "args") -> set[str]:
    """The keys a condition, when true, shows `args` has: `hasattr(args, 'k')`, `getattr(args, 'k', d)` with a
    false default, or compared equal to (or in) constants the default is not, and the parts of an `and`. A later
    condition of the same patch reads those directly without an AttributeError (the runtime tests in order)."""
    node = tree.body if isinstance(tree, ast.Expression) else tree
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return set().union(*(ensured_keys(value, args_name) for value in node.values))
    compared: set[object] | None = None
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq | ast.In):
        right = node.comparators[0]
        elements = right.elts if isinstance(right, ast.Tuple | ast.List | ast.Set) else [right]
        if not all(isinstance(e, ast.Constant) for e in elements):
            return set()
        compared, node = {e.value for e in elements if isinstance(e, ast.Constant)}, node.left
    if not (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
        and len(node.args) in (2, 3) and isinstance(node.args[0], ast.Name) and node.args[0].id == args_name
        and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
    ):
        return set()
    key = node.args[1].value
    if node.func.id == "hasattr":
        return {key} if compared is None else set()
    if len(node.args) != 3 or not isinstance(node.args[2], ast.Constant):
        return set()
    default = node.args[2].value
    if compared is None:
        return set() if default else {key}
    return set() if default in compared else {key}



def holds_before(conditions: list[str], index: int, guard: Guard) -> bool:
    """Whether a condition before `conditions[index]` of one patch is the guard's condition (or has it as a part
    of an `and`): the runtime tests them in order, so the guarded options are there when that one reads them."""
    wanted = ast.dump(ast.parse(guard.condition, mode="eval").body)
    for text in conditions[:index]:
        node = ast.parse(text, mode="eval").body
        parts = node.values if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) else [node]
        if any(ast.dump(part) == wanted for part in parts):
            return True
    return False
