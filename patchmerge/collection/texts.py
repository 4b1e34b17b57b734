"""How collect spells a piece of source in what it reports."""

from __future__ import annotations

import ast


def short(node: ast.AST) -> str:
    """The node's source, cut to 80 characters."""
    text = ast.unparse(node)
    return text if len(text) <= 80 else text[:77] + "..."


def dotted_text(node: ast.expr) -> str | None:
    """`a.b.c` for a name or a chain of attributes of one, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
