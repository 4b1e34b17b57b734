"""Annotations of moved code that name what only the patch module can give, written as strings.

A parameter or return annotation is evaluated when its def runs: for moved code, while Megatron's module is
importing, where importing the patch module would form a cycle. Written as a string (a forward reference, as
one writes a name not importable at definition time), the annotation names the same object by its full dotted
path and nothing is imported. What changes is only the annotation's value, a string instead of the object
(`__annotations__`, `inspect.signature`); the report notes it for each such patch. A `functools.wraps`
wrapper takes the wrapped function's annotations anyway.
"""

from __future__ import annotations

import libcst as cst

from patchmerge.fusion.insource.walk import descendants


def signature_annotations(node: cst.CSTNode) -> dict[int, cst.Annotation]:
    """The id of every node inside a def's parameter or return annotation within `node` -> that annotation."""
    found: dict[int, cst.Annotation] = {}
    for function in descendants(node):
        if not isinstance(function, cst.FunctionDef):
            continue
        params = function.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
        annotations = [p.annotation for p in every if p.annotation is not None]
        for annotation in [*annotations, *([function.returns] if function.returns else [])]:
            for inner in descendants(annotation):
                found[id(inner)] = annotation
    return found


def as_string(annotation: cst.Annotation, updated: cst.Annotation, dotted: dict[int, str]) -> cst.Annotation:
    """`annotation` written as a string, each name in `dotted` (id -> full dotted path) spelled by its path."""
    expression = annotation.annotation.visit(_Dotted(dotted))
    code = cst.Module([]).code_for_node(expression)
    return updated.with_changes(annotation=cst.SimpleString(repr(code)))


class _Dotted(cst.CSTTransformer):
    def __init__(self, replaced: dict[int, str]) -> None:
        super().__init__()
        self.replaced = replaced

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        dotted = self.replaced.get(id(original_node))
        return cst.parse_expression(dotted) if dotted is not None else updated_node
