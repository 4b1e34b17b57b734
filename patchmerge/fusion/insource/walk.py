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


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The nodes right below `node`."""
    for name in _field_names(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, list | tuple):
            yield from (item for item in value if isinstance(item, cst.CSTNode))


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and every node below it."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        todo.extend(children(current))


def subtree_ids(node: cst.CSTNode) -> set[int]:
    """The ids of `node` and every node below it."""
    return {id(child) for child in descendants(node)}


def on_the_way(root: cst.CSTNode, targets: set[int]) -> set[int]:
    """The ids of the nodes from `root` down to each node whose id is in `targets` (those included): what a
    transformer that changes only the targets must visit."""
    parent: dict[int, int] = {}
    todo = [root]
    while todo:
        current = todo.pop()
        for child in children(current):
            parent[id(child)] = id(current)
            todo.append(child)
    found: set[int] = set()
    for target in targets:
        step: int | None = target
        while step is not None and step not in found:
            found.add(step)
            step = parent.get(step)
    return found
