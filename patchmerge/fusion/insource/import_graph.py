"""Which modules importing a module runs, read from source: whether a new module-level import can close a cycle.

A definition moved into one Megatron module for one binding may be needed by another module when it loads (a
wrapper applied there too). Importing it from there at that module's top is safe when importing the defining
module never comes back to the importing one: every module-level import (in `try`/`if` blocks too, not inside
functions), and each package's `__init__` on the way to a module, counts.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from patchmerge.fusion.insource.import_order import ImportReplay
from patchmerge.source.modules import absolute_module, package_of


class ImportGraph:
    def __init__(self, module_file: Callable[[str], Path | None], is_package: Callable[[str], bool]) -> None:
        self._module_file = module_file
        self._is_package = is_package
        self._edges: dict[str, frozenset[str]] = {}
        self.added: dict[str, set[str]] = {}  # module -> what this merge makes it import at its top
        self._replay = ImportReplay(module_file, is_package)  # it parses each module once, for both
        self._needed: dict[str, set[str]] = {}  # module -> the libraries importing it from scratch imports

    def reaches(self, start: str, goal: str, loaded: frozenset[str] = frozenset()) -> bool:
        """Whether importing `start` imports `goal` (or `goal` itself is `start` or one of its packages), through
        the imports this merge adds too; `loaded`: modules imported already, which importing them again does not
        run."""
        seen: set[str] = set(loaded)
        todo = [start]
        while todo:
            module = todo.pop()
            for step in _with_packages(module):
                if step == goal:
                    return True
                if step in seen:
                    continue
                seen.add(step)
                todo.extend(self._imports(step))
                todo.extend(self.added.get(step, ()))
        return False

    def reaches_through_added(self, start: str, goal: str) -> bool:
        """Whether importing `start` can import `goal` on a path that takes at least one import this merge adds."""
        seen: set[tuple[str, bool]] = set()
        todo = [(start, False)]
        while todo:
            module, through = todo.pop()
            for step in _with_packages(module):
                if step == goal and through:
                    return True
                if (step, through) in seen:
                    continue
                seen.add((step, through))
                todo.extend((m, through) for m in self._imports(step))
                todo.extend((m, True) for m in self.added.get(step, ()))
        return False

    def closure(self, start: str, skip: frozenset[str] = frozenset()) -> set[str]:
        """Every module importing `start` imports (itself and its packages included); `skip`: modules whose own
        imports are not followed (packages still running)."""
        seen: set[str] = set()
        todo = [start]
        while todo:
            for step in _with_packages(todo.pop()):
                if step not in seen:
                    seen.add(step)
                    if step in skip and step != start:
                        continue
                    todo.extend(self._imports(step))
                    todo.extend(self.added.get(step, ()))
        return seen

    def new_import_fails(
        self, importer: str, module: str, packages_may_run: bool = False, installed: frozenset[str] | None = None
    ) -> str | None:
        """Why a module-level `import module` written into `importer` could fail where it runs (None: it cannot):
        only a module `importer` did not import already can, by running from another entry point. With
        `packages_may_run`, a package of `importer` whose `__init__` imports it may still be running then. With
        `installed` (the libraries every machine has), also where `module` itself imports a library `importer`
        never needed, which a machine may lack (a library Megatron's own modules import on the way counts as
        the framework's: only the module's own imports say it serves a feature some machines lack)."""
        if self.reaches(importer, module):
            return None
        if installed is not None:
            if importer not in self._needed:  # read from the files alone: the same for every back-import
                self._needed[importer] = self._replay.libraries(importer, set())
            needed = self._needed[importer] | installed
            if new := sorted(self._replay.libraries(module, self.closure(importer), own=True) - needed):
                return (f"importing {module} imports {new[0]}, a library {importer} does not need and the profile "
                        "does not count as installed (sources.installed, the requirements files)")
        running: dict[str, set[str]] = {importer: set()}
        if packages_may_run:
            for package in packages_of(importer):
                if self.runs_while_loading(package, importer):
                    running[package] = set()  # conservatively: nothing it binds is bound yet
        loaded = self.closure(importer, skip=frozenset(running)) - set(running)
        return self._replay.failure(module, loaded, running)

    def runs_while_loading(self, package: str, module: str) -> bool:
        """Whether the `__init__` of `package` imports `module` (through others too), so that the package may
        still be running, its later names unbound, while `module` loads."""
        done = packages_of(package) | {package}  # imported before the package's own imports run, or running
        return any(self.reaches(m, module, done) for m in self._imports(package) | self.added.get(package, set()))

    def _imports(self, module: str) -> frozenset[str]:
        if module not in self._edges:
            self._edges[module] = frozenset(self._read(module))
        return self._edges[module]

    def _read(self, module: str) -> set[str]:
        body = self._replay.body(module)
        if body is None:
            return set()
        package = package_of(module, self._is_package(module))
        found: set[str] = set()
        for node in _module_level(body):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = absolute_module(package, node.module, node.level)
                if base is None:
                    continue
                found.add(base)
                # `from package import name` may import the submodule package.name
                found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        return {name for name in found if self._module_file(name) is not None or self._is_package(name)}


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements that run when the module loads, through try/if/with blocks but not into defs."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        out.append(node)
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                nested = [c for c in children if isinstance(c, ast.stmt)]
                for handler in (c for c in children if isinstance(c, ast.ExceptHandler)):
                    nested.extend(handler.body)
                out.extend(_module_level(nested))
    return out


def packages_of(module: str) -> frozenset[str]:
    """The packages Python imports before `module`: `a` and `a.b` for `a.b.c`."""
    return frozenset(_with_packages(module)[:-1])


def _with_packages(module: str) -> list[str]:
    """`a.b.c` runs `a`, `a.b`, then `a.b.c` when imported."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]
