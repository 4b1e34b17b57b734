"""Conditional code at a definition: conditions over the adaptor's own parse, and `if`/`elif`/`else` chains."""

from __future__ import annotations

import ast

import libcst as cst

from patchmerge.fusion.stanza import HELPER_ALIAS
from patchmerge.model import PlannedPatch


def condition_code(pp: PlannedPatch) -> str:
    """The patch's conditions as one expression over the adaptor's parse (rewritten on the tree)."""
    parts = [_over_adaptor_args(text) for text in pp.patch.condition]
    if len(parts) == 1:
        return parts[0]
    return " and ".join(grouped(p) for p in parts)


def grouped(expression: str) -> str:
    """`expression` with brackets where it binds looser than `and` or `not`."""
    loose = (ast.BoolOp, ast.IfExp)
    return f"({expression})" if isinstance(ast.parse(expression, mode="eval").body, loose) else expression


def if_chain(
    branches: list[tuple[str, list[cst.BaseStatement]]], otherwise: list[cst.BaseStatement] | None
) -> cst.If:
    """`if c1: s1 elif c2: s2 ... else: otherwise`, the first branch whose condition holds taken."""
    orelse: cst.If | cst.Else | None = cst.Else(body=cst.IndentedBlock(otherwise)) if otherwise else None
    for condition, statements in reversed(branches):
        test = cst.parse_expression(condition)
        orelse = cst.If(test=test, body=cst.IndentedBlock(statements), orelse=orelse)
    assert isinstance(orelse, cst.If)
    return orelse


class _ArgsToAdaptorParse(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.expr:  # noqa: N802 - ast's interface
        if node.id != "args":
            return node
        helper = ast.Attribute(value=ast.Name(id=HELPER_ALIAS, ctx=ast.Load()), attr="adaptation_args", ctx=ast.Load())
        return ast.copy_location(ast.Call(func=helper, args=[], keywords=[]), node)


def _over_adaptor_args(text: str) -> str:
    """The condition reading the adaptor's parse where it read `args`, rewritten on the expression tree."""
    tree = _ArgsToAdaptorParse().visit(ast.parse(text.strip(), mode="eval"))
    return ast.unparse(ast.fix_missing_locations(tree))
