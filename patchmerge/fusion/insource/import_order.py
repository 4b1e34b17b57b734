"""Whether a new module-level import can run at the place it is written, read from source.

A back-import (`from megatron.x import moved_def` in the patch module) may make the patch module import a module
it never imported. Its import then runs earlier than it does in the runtime's order, and a module that is safe
to import from one entry point can fail from another: `megatron.legacy.model` imports `megatron.training`, whose
`utils` runs `from megatron.legacy.model import Float16Module` while that package is still half initialised.

This replays Python's import of a module statement by statement, over every module-level statement (both
branches of an `if`, none under `TYPE_CHECKING`), with the modules imported already taken as loaded: each
module on the way is pushed while it runs, and `from P import n` on a module P still running fails unless P
has bound `n` by then (or `n` is a submodule of P, or P star-imports or defines `__getattr__`). An import
inside a `try` whose handler catches ImportError (and does not raise again) cannot fail the import around it.

The replay also names the libraries (modules outside the source roots and the standard library) it imports
outside such a `try` (see `patchmerge.source.libraries`).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from patchmerge.source.bindings import is_type_checking, names_bound
from patchmerge.source.modules import absolute_module, package_of

_CATCHES = {"ImportError", "Exception", "BaseException"}


@dataclass
class _Running:
    bound: set[str] = field(default_factory=set)
    any_name: bool = False  # a star import or a module __getattr__: any name may be bound


class ImportReplay:
    def __init__(self, module_file: Callable[[str], Path | None], is_package: Callable[[str], bool]) -> None:
        self._module_file = module_file
        self._is_package = is_package
        self._trees: dict[str, list[ast.stmt] | None] = {}

    def failure(self, module: str, loaded: set[str], running: dict[str, set[str]]) -> str | None:
        """Why importing `module` would fail, given the modules `loaded` already and those `running` (each with
        the names it has bound so far); None when it runs through."""
        state = _Replay(self, set(loaded), {name: _Running(set(bound)) for name, bound in running.items()})
        return state.import_module(module, catching=False)

    def libraries(self, module: str, loaded: set[str], own: bool = False) -> set[str]:
        """The libraries importing `module` imports, with the modules `loaded` already (up to the replay's first
        failure, where there is one); with `own`, only those `module`'s own statements import."""
        state = _Replay(self, set(loaded), {})
        state.import_module(module, catching=False)
        if own:
            return state.libraries.get(module, set())
        return {library for found in state.libraries.values() for library in found}

    def body(self, module: str) -> list[ast.stmt] | None:
        if module not in self._trees:
            path = self._module_file(module)
            try:
                text = path.read_text(encoding="utf-8", errors="replace") if path else None
                self._trees[module] = ast.parse(text).body if text is not None else None
            except (OSError, SyntaxError, ValueError):
                self._trees[module] = None
        return self._trees[module]

    def exists(self, module: str) -> bool:
        return self._module_file(module) is not None or self._is_package(module)

    def is_package(self, module: str) -> bool:
        return self._is_package(module)


class _Replay:
    def __init__(self, replay: ImportReplay, loaded: set[str], running: dict[str, _Running]) -> None:
        self.replay = replay
        self.loaded = loaded
        self.running = running
        # module -> the libraries (outside the source roots and the standard library) it imports uncaught, in a
        # module not itself imported under a try that catches the failure
        self.libraries: dict[str, set[str]] = {}
        self._guarded = 0  # how many of the imports running now a try catches

    def _library(self, module: str, imported: str, catching: bool) -> None:
        top = imported.split(".")[0]
        if catching or self._guarded or top in sys.stdlib_module_names or self.replay.exists(top):
            return
        self.libraries.setdefault(module, set()).add(top)

    def import_module(self, module: str, catching: bool) -> str | None:
        self._guarded += catching
        try:
            return self._import_module(module, catching)
        finally:
            self._guarded -= catching

    def _import_module(self, module: str, catching: bool) -> str | None:
        parts = module.split(".")
        for i in range(len(parts)):
            step = ".".join(parts[: i + 1])
            if step in self.loaded or step in self.running or not self.replay.exists(step):
                continue
            problem = self._run(step)
            if problem is not None and not catching:
                return problem
            parent, _, name = step.rpartition(".")
            if parent in self.running:  # a package gets its submodule as an attribute once it has run
                self.running[parent].bound.add(name)
        return None

    def _run(self, module: str) -> str | None:
        body = self.replay.body(module)
        self.running[module] = _Running()
        try:
            return self._statements(module, body or [], catching=False)
        finally:
            del self.running[module]
            self.loaded.add(module)

    def _statements(self, module: str, body: list[ast.stmt], catching: bool) -> str | None:
        state = self.running[module]
        package = package_of(module, self.replay.is_package(module))
        for node in body:
            problem: str | None = None
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self._library(module, alias.name, catching)
                    problem = problem or self.import_module(alias.name, catching)
                    state.bound.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                problem = self._from_import(module, package, node, catching)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                state.bound.add(node.name)
                state.any_name = state.any_name or node.name == "__getattr__"
            elif isinstance(node, ast.Try | ast.TryStar):
                caught = catching or _stops_import_error(node.handlers)
                problem = self._statements(module, node.body, caught)
                for handler in node.handlers:
                    problem = problem or self._statements(module, handler.body, catching)
                problem = problem or self._statements(module, node.orelse + node.finalbody, catching)
            elif isinstance(node, ast.If) and is_type_checking(node.test):  # never true when the module runs
                problem = self._statements(module, node.orelse, catching)
            elif isinstance(node, ast.If | ast.With | ast.For | ast.While):
                problem = self._statements(module, node.body, catching)
                problem = problem or self._statements(module, getattr(node, "orelse", []), catching)
            else:
                state.bound.update(names_bound(node))
            if problem is not None and not catching:
                return problem
        return None

    def _from_import(self, module: str, package: str, node: ast.ImportFrom, catching: bool) -> str | None:
        base = absolute_module(package, node.module, node.level)
        if base is None:
            return None
        self._library(module, base, catching)
        problem = self.import_module(base, catching)
        if problem is not None:
            return problem
        for alias in node.names:
            if alias.name == "*":
                self.running[module].any_name = True
                continue
            submodule = f"{base}.{alias.name}"
            partial = self.running.get(base)
            if self.replay.exists(submodule):
                problem = self.import_module(submodule, catching)
            elif partial is not None and not partial.any_name and alias.name not in partial.bound:
                problem = (f"{module} runs `from {base} import {alias.name}` while {base} is still being imported, "
                           f"before it binds {alias.name}")
            if problem is not None and not catching:
                return problem
            self.running[module].bound.add(alias.asname or alias.name)
        return None


def _stops_import_error(handlers: list[ast.ExceptHandler]) -> bool:
    """Whether the handlers stop an ImportError: the first that catches one (Python takes the first match) does
    not raise again anywhere in its body (Megatron's `except ImportError: raise ImportError("mamba-ssm is
    required ...")`)."""
    for handler in handlers:
        types = [] if handler.type is None else (
            handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type])
        if handler.type is None or any(isinstance(t, ast.Name) and t.id in _CATCHES for t in types):
            return not any(isinstance(node, ast.Raise) for statement in handler.body for node in ast.walk(statement))
    return False
