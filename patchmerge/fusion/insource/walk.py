"""Every node under a libcst node, read without a visitor.

A libcst visit rebuilds each node it passes (even a read-only `CSTVisitor`), which makes it the costly part of
the questions a move asks of the code it moves; these read each node's fields instead. The nodes are the ones a
visit would see, in no particular order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from functools import cache

import libcst as cst


@cache
def _field_names(kind: type[cst.CSTNode]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and every node below it."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        for name in _field_names(type(current)):
            value = getattr(current, name)
            if isinstance(value, cst.CSTNode):
                todo.append(value)
            elif isinstance(value, list | tuple):
                todo.extend(item for item in value if isinstance(item, cst.CSTNode))


def subtree_ids(node: cst.CSTNode) -> set[int]:
    """The ids of `node` and every node below it."""
    return {id(child) for child in descendants(node)}
