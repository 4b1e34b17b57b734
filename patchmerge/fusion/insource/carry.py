"""What moved code carries: the imports it needs, at the top of the function that needs them, and module state
read or written through its module."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from patchmerge.fusion.insource.annotations import as_string
from patchmerge.fusion.insource.errors import CannotMove
from patchmerge.fusion.insource.module_state import import_as_assignment
from patchmerge.fusion.insource.walk import on_the_way


@dataclass(frozen=True)
class ImportLine:
    """One carried import: `import module [as alias]` or `from module import name [as alias]`."""

    module: str
    name: str | None = None  # None: `import module`
    alias: str | None = None

    @property
    def bound(self) -> str:
        if self.alias:
            return self.alias
        return self.name if self.name is not None else self.module.split(".")[0]

    @property
    def parts(self) -> tuple[str, str | None, str | None]:
        return (self.module, self.name, self.alias)

    def statement(self) -> cst.SimpleStatementLine:
        alias = f" as {self.alias}" if self.alias else ""
        code = f"import {self.module}{alias}" if self.name is None else f"from {self.module} import {self.name}{alias}"
        return cst.parse_statement(code)  # type: ignore[return-value]



class CarryImports(cst.CSTTransformer):
    """Put each function's carried imports at the top of its body, after its docstring. Only the nodes on the
    way to what changes are visited: a libcst visit rebuilds every node it passes, and most of moved code stays
    as it is."""

    def __init__(
        self,
        imports: dict[cst.FunctionDef, dict[ImportLine, None]],
        through: dict[int, str],
        imports_through: dict[int, str],
        strings: dict[int, dict[int, str]] | None = None,
    ) -> None:
        self.imports = {id(function): list(lines) for function, lines in imports.items()}
        self.through = through
        self.imports_through = imports_through  # id of an `import` binding module state -> that module
        self.strings = strings or {}  # annotations written as strings: id -> {id of a name in it -> dotted path}
        self.stack: list[int] = []
        self.visited: set[int] | None = None  # on the way to a change: set from the root, the first node visited

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.visited is None:
            targets = {*self.imports, *self.through, *self.imports_through, *self.strings}
            self.visited = on_the_way(node, targets)
        return id(node) in self.visited and super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[no-untyped-def]
        if self.visited is not None and id(original_node) not in self.visited:
            return updated_node  # not visited: nothing in it changes
        return super().on_leave(original_node, updated_node)

    def leave_Annotation(self, original: cst.Annotation, updated: cst.Annotation) -> cst.Annotation:
        dotted = self.strings.get(id(original))
        return updated if dotted is None else as_string(original, updated, dotted)

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.Import | cst.Assign:
        module = self.imports_through.get(id(original))
        return updated if module is None else import_as_assignment(original, module)

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        module = self.through.get(id(original))
        if module is None:
            return updated
        return cst.parse_expression(f"{module}.{original.value}")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.stack.append(id(node))
        return True

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        key = self.stack.pop()
        lines = sorted(self.imports.get(key, ()), key=lambda line: (line.module, line.name or "", line.alias or ""))
        if not lines or not isinstance(updated.body, cst.IndentedBlock):
            if lines:
                raise CannotMove(f"{original.name.value} has a one-line body, so imports cannot be carried into it")
            return updated
        body = list(updated.body.body)
        at = 1 if body and is_docstring(body[0]) else 0
        body[at:at] = _statements(lines)
        return updated.with_changes(body=updated.body.with_changes(body=body))


def _statements(lines: list[ImportLine]) -> list[cst.SimpleStatementLine]:
    """One `from m import a, b` per module; plain `import` lines one each."""
    out: list[cst.SimpleStatementLine] = []
    grouped: dict[str, list[ImportLine]] = {}
    for line in lines:
        if line.name is None:
            out.append(line.statement())
        else:
            grouped.setdefault(line.module, []).append(line)
    for module, names in grouped.items():
        listed = ", ".join(n.name + (f" as {n.alias}" if n.alias else "") for n in names)  # type: ignore[operator]
        out.append(cst.parse_statement(f"from {module} import {listed}"))  # type: ignore[arg-type]
    return out


def is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )
