"""The tree as collect reads it, from the source model: module names <-> files, each file parsed once with `ast`,
and what each module binds at top level (imports, defs, classes, assignments), in source order, as the module's
index says, with the statements that bind."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from patchmerge.source.bindings import guarded_statements, last_binding
from patchmerge.source.index import BindKind
from patchmerge.source.modules import absolute_module, module_of_path, package_of
from patchmerge.source.tree import SourceTree


@dataclass(frozen=True)
class TopBinding:
    """A top-level statement that binds `name`; `handler` when it sits in an except clause."""

    node: ast.stmt
    handler: bool


class ParseError(Exception):
    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


class Sources:
    """Parsed modules of the tree, cached: each file is read and parsed at most once."""

    def __init__(self, root: Path, roots: tuple[str, ...], rewritable: tuple[str, ...]) -> None:
        self.tree = SourceTree(root, roots, rewritable)
        self.root = self.tree.root
        self._asts: dict[Path, ast.Module] = {}
        self._bindings: dict[str, dict[str, list[TopBinding]]] = {}

    @property
    def files_read(self) -> int:
        return len(self._asts)

    @property
    def paths_read(self) -> tuple[Path, ...]:
        return tuple(self._asts)

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def parse_file(self, path: Path) -> ast.Module:
        path = path.resolve()
        hit = self._asts.get(path)
        if hit is None:
            try:
                hit = self.tree.syntax(path)
            except OSError as exc:
                raise ParseError(self.rel(path), f"cannot read: {exc.strerror or exc}") from None
            except (SyntaxError, ValueError) as exc:
                raise ParseError(self.rel(path), f"cannot parse: {exc}") from None
            self._asts[path] = hit
        return hit

    def module_file(self, module: str) -> Path | None:
        return self.tree.module_file(module)

    def exists(self, module: str) -> bool:
        return self.tree.exists(module)

    def is_package(self, module: str) -> bool:
        return self.tree.is_package(module)

    def module_ast(self, module: str) -> ast.Module | None:
        path = self.module_file(module)
        return self.parse_file(path) if path is not None else None

    def module_of_file(self, rel: str) -> str | None:
        """The module name a file (relative to ROOT_DIR, or absolute) is imported as, from the first source root
        holding it, on disk (a root may be a symlink)."""
        path = (self.root / rel).resolve()
        for base in self.tree.paths:
            try:
                inside = path.relative_to(base.resolve())
            except ValueError:
                continue
            if (name := module_of_path(inside, ())) is not None:
                return name
        return None

    def absolute(self, module: str, level: int, source: str | None) -> str:
        """The absolute module a relative import in `module` names ("<beyond-top-level>" where Python raises
        ImportError: no module has that name)."""
        return absolute_module(package_of(module, self.is_package(module)), source, level) or "<beyond-top-level>"

    def bindings(self, module: str) -> dict[str, list[TopBinding]]:
        """Each name the module binds at top level ("*" for its star imports), with the statements that bind it,
        in source order: the bindings of the module's index (`patchmerge.source`), found in its parse."""
        hit = self._bindings.get(module)
        if hit is None:
            tree = self.module_ast(module)
            hit = {}
            index = self.tree.module_index(module) if tree is not None else None
            if tree is not None and index is not None:
                statements = {(st.lineno, st.col_offset): st for st, _ in guarded_statements(tree.body)}
                for binding in index.bindings:
                    name = "*" if binding.kind is BindKind.STAR else binding.name
                    statement = statements[binding.line, binding.column]
                    hit.setdefault(name, []).append(TopBinding(statement, binding.in_handler))
            self._bindings[module] = hit
        return hit


def pick(bindings: list[TopBinding]) -> TopBinding | None:
    """The binding a module holds after import (see `last_binding`)."""
    return last_binding(bindings, lambda binding: binding.handler)[0]

