"""Recognise what an earlier merge fused, so a second merge reports it instead of fusing it twice."""

from __future__ import annotations

import ast
import re

from patchmerge.fusion.stanza import HELPER_ALIAS

_INSTALLERS = {"fused_function", "fused_member", "fused_value"}
# the comment an in-source fused definition carries, one per patch (patchmerge.fusion.insource.writer)
_IN_SOURCE = re.compile(r"^\s*# patchmerge: (\S+) (?:replaced|wrapped) by (\S+) (?:if .* )?\(", re.MULTILINE)


def fused_pairs(text: str) -> set[tuple[str, str]]:
    """(target, patch_import) pairs recorded by the install calls of fused stanzas in a module's text."""
    pairs = {(match[1], match[2]) for match in _IN_SOURCE.finditer(text)}
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return pairs
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _INSTALLERS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == HELPER_ALIAS
        ):
            continue
        for keyword in node.keywords:
            if keyword.arg == "patches" and isinstance(keyword.value, ast.Tuple):
                for element in keyword.value.elts:
                    try:
                        target, patch_import = ast.literal_eval(element)
                    except (ValueError, TypeError):
                        continue
                    pairs.add((str(target), str(patch_import)))
    return pairs
