"""Guard the patch-collection lookup in MindSpeed-LLM's ``reset_patch`` / ``reset_patch_v2``.

These helpers do ``target_patch = <collection>[name]`` and then clear its wrappers. Once patchmerge disables the
registrations of a fused target, that name is no longer in the collection and the lookup raises ``KeyError``;
with nothing registered there is nothing to reset, so the function may simply return.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_full_name_for_node, parse_template_statement

FUNCTION_NAMES = frozenset({"reset_patch", "reset_patch_v2"})
GUARD_COMMENT = "# patchmerge: fused targets are no longer registered; nothing to reset then"


def guard_reset_patch(source: str) -> str:
    """Return `source` with every reset_patch/reset_patch_v2 lookup guarded; unchanged if nothing to do.

    Raises ``libcst.ParserSyntaxError`` for a file that does not parse.
    """
    if not any(name in source for name in FUNCTION_NAMES):
        return source  # spare the parse
    module = cst.parse_module(source)
    guard = _Guard()
    new = module.visit(guard)
    return new.code if guard.changed else source


def _is_collection(node: cst.BaseExpression) -> bool:
    # `_patch_info_collection`, `patches_info`: the mappings MindSpeed keeps Patch objects in
    name = get_full_name_for_node(node)
    return name is not None and "patch" in name.rpartition(".")[2].lower()


def _lookup(statement: cst.CSTNode, params: frozenset[str]) -> tuple[str, cst.BaseExpression] | None:
    """The first `<collection>[<param>]` inside `statement`, as (param, collection)."""
    for sub in m.findall(statement, m.Subscript(slice=[m.SubscriptElement(slice=m.Index(value=m.Name()))])):
        assert isinstance(sub, cst.Subscript)
        index = sub.slice[0].slice
        assert isinstance(index, cst.Index) and isinstance(index.value, cst.Name)
        if index.value.value in params and _is_collection(sub.value):
            return index.value.value, sub.value
    return None


def _membership(test: cst.BaseExpression, param: str, collection: cst.BaseExpression, negated: bool) -> bool:
    """Is `test` exactly `param in collection` (or `param not in collection` when negated)?"""
    operator = m.NotIn() if negated else m.In()
    if not m.matches(test, m.Comparison(left=m.Name(param), comparisons=[m.ComparisonTarget(operator=operator)])):
        return False
    assert isinstance(test, cst.Comparison)
    return test.comparisons[0].comparator.deep_equals(collection)


def _guarded(
    before: Sequence[cst.BaseStatement], holder: cst.BaseStatement, param: str, mapping: cst.BaseExpression
) -> bool:
    # our own guard (or a hand-written one) above the lookup, or the lookup wrapped in `if name in collection:`
    if isinstance(holder, cst.If) and _membership(holder.test, param, mapping, negated=False):
        return True
    return any(isinstance(s, cst.If) and _membership(s.test, param, mapping, negated=True) for s in before)


class _Guard(cst.CSTTransformer):
    def __init__(self) -> None:
        super().__init__()
        self.changed = False

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        if updated_node.name.value not in FUNCTION_NAMES or not isinstance(updated_node.body, cst.IndentedBlock):
            return updated_node
        params = frozenset(p.name.value for p in (*updated_node.params.posonly_params, *updated_node.params.params))
        body = list(updated_node.body.body)
        for position, statement in enumerate(body):
            found = _lookup(statement, params)
            if found is None:
                continue
            param, mapping = found
            if _guarded(body[:position], statement, param, mapping):
                return updated_node
            guard = parse_template_statement(
                "if {param} not in {mapping}:\n    return\n", param=cst.Name(param), mapping=mapping.deep_clone()
            )
            assert isinstance(guard, cst.If)
            # the lookup's leading blank lines and comments stay above the guard, so the layout reads the same
            guard = guard.with_changes(
                leading_lines=[*statement.leading_lines, cst.EmptyLine(comment=cst.Comment(GUARD_COMMENT))]
            )
            self.changed = True
            body[position : position + 1] = [guard, statement.with_changes(leading_lines=())]
            return updated_node.with_changes(body=updated_node.body.with_changes(body=body))
        return updated_node
