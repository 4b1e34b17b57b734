"""What a module's own top-level imports bind, read with `ast`: one reading for the code that carries a
function out of its module and the code that evaluates one in place."""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class TopImport:
    """One name a top-level absolute import binds."""

    local: str  # the name the module gets
    module: str  # what is imported from (`from module import name`) or imported (`import module`)
    name: str | None  # None: `import module [as alias]`
    alias: str | None

    @property
    def dotted(self) -> str:
        """What the local name holds: `import a.b` binds the package `a`, `import a.b as c` the module `a.b`."""
        if self.name is not None:
            return f"{self.module}.{self.name}"
        return self.module if self.alias else self.module.partition(".")[0]

    @property
    def statement(self) -> str:
        """The import of just this name, as one statement."""
        alias = f" as {self.alias}" if self.alias else ""
        if self.name is None:
            return f"import {self.module}{alias}"
        return f"from {self.module} import {self.name}{alias}"


def top_level_imports(module: ast.Module) -> list[TopImport]:
    """The names the module's top-level absolute imports bind, in order (a later one rebinds an earlier)."""
    found: list[TopImport] = []
    for statement in module.body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                local = alias.asname or alias.name.partition(".")[0]
                found.append(TopImport(local, alias.name, None, alias.asname))
        elif isinstance(statement, ast.ImportFrom) and not statement.level and statement.module:
            for alias in statement.names:
                found.append(TopImport(alias.asname or alias.name, statement.module, alias.name, alias.asname))
    return found
