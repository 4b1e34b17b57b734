"""Registrations in the profile's registration files that no path from the entries reaches."""

from __future__ import annotations

import ast
from pathlib import Path

from patchmerge.collection.model import Dead, Site
from patchmerge.collection.scope import ParseError, Sources
from patchmerge.collection.texts import dotted_text


def registration_files(root: Path, patterns: tuple[str, ...]) -> list[Path]:
    seen: dict[Path, None] = {}
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if path.is_file() and path.suffix == ".py":
                seen.setdefault(path.resolve(), None)
    return list(seen)


def find_dead(sources: Sources, patterns: tuple[str, ...], shapes: frozenset[str], visited: set[Site]) -> tuple[
        list[Dead], list[tuple[str, str]]]:
    """(registration calls never reached, files that could not be parsed with why)."""
    dead: list[Dead] = []
    errors: list[tuple[str, str]] = []
    for path in registration_files(sources.root, patterns):
        rel = sources.rel(path)
        try:
            tree = sources.parse_file(path)
        except ParseError as exc:
            errors.append((rel, exc.message))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (dotted_text(node.func) or "") in shapes:
                site = Site(rel, node.lineno)
                if site not in visited:
                    target = ast.unparse(node.args[0]) if node.args else "?"
                    dead.append(Dead(site, target))
    dead.sort(key=lambda d: (d.site.file, d.site.line))
    return dead, errors
