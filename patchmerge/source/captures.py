"""References captured at import time: the names a module-level (or class-body) assignment reads.

`LayerNormImpl = TENorm` runs once, when its module is imported: the runtime patcher later rebinds `TENorm`
but leaves `LayerNormImpl` holding the original, while in a fused tree the same line picks up the fused
definition. The index records, for each such assignment, the dotted names its value reads right away, so
fidelity notes can find them without parsing again. Plain picklable data, cached with the file summary.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

MAX_REFS = 64  # per assignment: a huge literal table is not worth indexing name by name


@dataclass(frozen=True, slots=True)
class Capture:
    """`bound = <value>` run at import time, with the dotted names the value reads."""

    bound: str  # the name bound, qualified by its class for a class-body assignment ("Spec.norm")
    line: int
    refs: tuple[str, ...]  # Name / attribute chains read eagerly, in source order, without duplicates
    simple: bool  # the value is exactly refs[0] (`X = a.b`), not an expression using it
    text: str  # short source text, for notes


def dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def eager_refs(value: ast.expr) -> tuple[str, ...]:
    """The longest Name/attribute chains `value` reads when it is evaluated (lambda bodies are not)."""
    refs: dict[str, None] = {}
    stack: list[ast.AST] = [value]
    while stack and len(refs) < MAX_REFS:
        node = stack.pop()
        if isinstance(node, ast.Lambda):
            stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d is not None])
            continue
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
            chain = dotted(node)
            if chain is not None:
                refs[chain] = None
                continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return tuple(refs)


def capture(bound: str, line: int, value: ast.expr, text: str) -> Capture | None:
    """The capture an assignment makes, or None when its value reads no name."""
    refs = eager_refs(value)
    if not refs:
        return None
    return Capture(bound, line, refs, simple=dotted(value) == refs[0], text=text)
