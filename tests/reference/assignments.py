"""Every combination of the condition values a patch set reads: the space a differential run must cover."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from patchmerge.conditions import parse_condition
from patchmerge.model import Patch

# stands for "some value no condition names" (the default of a string option, say)
OTHER = None


def condition_domains(patches: Iterable[Patch], args_name: str = "args") -> dict[str, list[Any]]:
    """For each `args.X` the conditions read: [False, True] when only its truth matters, else the constants it
    is compared with plus OTHER. Names read only through a function call (`is_enable_x(args)`) cannot be seen
    here; pass their domains to `assignments` yourself."""
    domains: dict[str, set[Any]] = {}
    for patch in patches:
        for text in patch.condition:
            tree = parse_condition(text).tree
            compared = _compared_constants(tree, args_name)
            for node in ast.walk(tree):
                if _is_args_attribute(node, args_name):
                    values = domains.setdefault(node.attr, set())
                    values.update(compared.get(node.attr, {False, True}))
    return {name: sorted(values, key=lambda v: (v is not OTHER, repr(v))) for name, values in domains.items()}


def _is_args_attribute(node: ast.AST, args_name: str) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == args_name


def _compared_constants(tree: ast.AST, args_name: str) -> dict[str, set[Any]]:
    found: dict[str, set[Any]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        attrs = [o.attr for o in operands if _is_args_attribute(o, args_name)]
        constants = [o.value for o in operands if isinstance(o, ast.Constant)]
        for container in (o for o in operands if isinstance(o, ast.Tuple | ast.List | ast.Set)):
            constants += [e.value for e in container.elts if isinstance(e, ast.Constant)]
        for attr in attrs:
            found.setdefault(attr, {OTHER}).update(constants)
    return found


def assignments(domains: Mapping[str, list[Any]]) -> Iterator[dict[str, Any]]:
    names = sorted(domains)
    for values in itertools.product(*(domains[n] for n in names)):
        yield dict(zip(names, values, strict=True))
