"""Module names: a file's module under the source roots, a module's package, and relative imports made absolute,
as Python's import system does them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePath


def module_of_path(rel: PurePath | str, roots: Sequence[str]) -> str | None:
    """The dotted module a file (relative to ROOT_DIR) is imported as: the longest source root leading its path
    is stripped (a root may have several parts, "src/MindSpeed-LLM"); with none, the path is read from ROOT_DIR.
    None where a part is not an identifier: Python cannot import it under a dotted name."""
    parts = PurePath(rel).parts
    best = 0
    for root in roots:
        root_parts = Path(root).parts
        if best < len(root_parts) < len(parts) and parts[: len(root_parts)] == root_parts:
            best = len(root_parts)
    if not parts or not parts[-1].endswith(".py"):
        return None
    names = [*parts[best:-1], *([] if parts[-1] == "__init__.py" else [parts[-1].removesuffix(".py")])]
    if not names or not all(name.isidentifier() for name in names):
        return None
    return ".".join(names)


def package_of(module: str, is_package: bool) -> str:
    """The package a module's relative imports start from: a package's `__init__` is its own."""
    return module if is_package else module.rpartition(".")[0]


def absolute_module(package: str, module: str | None, level: int) -> str | None:
    """The module `from <level dots><module> import ...` names, written in a module of `package`; None where
    Python refuses it (beyond the top-level package, or no package at all) or it names nothing (`from . import`
    at level 0)."""
    if level == 0:
        return module or None
    parts = package.split(".") if package else []
    if level - 1 >= len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])
