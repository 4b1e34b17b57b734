"""The tree as collect reads it: module names <-> files, each file parsed once with `ast`, and what each module
binds at top level (imports, defs, classes, assignments), in source order."""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass
from pathlib import Path

from patchmerge.markers import without_fused_block
from patchmerge.source.bindings import guarded_statements, last_binding, target_names
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
        self._defs: dict[tuple[str, str], ast.AST | None] = {}

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
                data = path.read_bytes()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    hit = ast.parse(without_fused_block(data), filename=str(path))
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
        hit = self._bindings.get(module)
        if hit is None:
            tree = self.module_ast(module)
            hit = {}
            if tree is not None:
                _collect(tree.body, hit)
            self._bindings[module] = hit
        return hit

def _collect(body: list[ast.stmt], out: dict[str, list[TopBinding]]) -> None:
    for st, guards in guarded_statements(body):
        handler = any(guard.kind == "except" for guard in guards)
        for name in bound_names(st):
            out.setdefault(name, []).append(TopBinding(st, handler))


def bound_names(st: ast.stmt) -> list[str]:
    if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [st.name]
    if isinstance(st, ast.Import):
        return [a.asname or a.name.split(".")[0] for a in st.names]
    if isinstance(st, ast.ImportFrom):
        return [a.asname or a.name for a in st.names]  # "*" stands for a star import
    if isinstance(st, ast.Assign):
        return [name for target in st.targets for name in target_names(target)]
    if isinstance(st, ast.AnnAssign | ast.AugAssign) and isinstance(st.target, ast.Name):
        return [st.target.id] if not (isinstance(st, ast.AnnAssign) and st.value is None) else []
    return []


def pick(bindings: list[TopBinding]) -> TopBinding | None:
    """The binding a module holds after import (see `last_binding`)."""
    return last_binding(bindings, lambda binding: binding.handler)[0]


def dotted_text(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
