"""Module-level imports a merge adds: libcst's AddImportsVisitor, kept to the statements it changes.

AddImportsVisitor only reads and edits the module's top-level import block (it merges a new name into an
existing `from m import ...` there, else inserts after the block), yet as a transformer it walks every node of
the module, and first has a gatherer walk them all once more. On Megatron's large files those two walks were
most of the time a merge spent writing. This subclass gives the gatherer only the statements it reads and does
not descend below top-level statements, so its output is the same. Nor does it let the codemod deep-copy the
module first (`MetadataWrapper`'s default): the copy only keeps metadata apart, and this visitor asks for none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, ImportItem
from libcst.metadata import MetadataWrapper

# the only nodes AddImportsVisitor acts on: the module, and the import statements of its body
_ACTED_ON = (cst.Module, cst.SimpleStatementLine, cst.Import, cst.ImportFrom)


class _TopLevelImports(AddImportsVisitor):
    def __dir__(self) -> list[str]:
        # libcst's matcher-decorated visitors look up their decorated methods in `dir(self)` on construction,
        # some 4 ms each time (a merge constructs one per module it writes); AddImportsVisitor and this class
        # have no matcher decorators (a test holds that), so there is nothing to find
        return []

    @contextmanager
    def _handle_metadata_reference(self, module: cst.Module) -> Iterator[cst.Module]:
        assert not self.get_inherited_dependencies()  # no metadata: the module need not be copied for it
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        previous = self.context.wrapper
        self.context = replace(self.context, wrapper=wrapper)
        try:
            yield wrapper.module
        finally:
            self.context = replace(self.context, wrapper=previous)

    def visit_Module(self, node: cst.Module) -> None:
        # the gatherer reads the docstring and the import statements that lead the module, nothing further
        super().visit_Module(node.with_changes(body=node.body[: leading_imports_end(node)]))

    def on_visit(self, node: cst.CSTNode) -> bool:
        if not isinstance(node, _ACTED_ON) or (isinstance(node, cst.SimpleStatementLine) and not _is_import_line(node)):
            return False
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[no-untyped-def]
        if not isinstance(original_node, _ACTED_ON):
            return updated_node
        return super().on_leave(original_node, updated_node)


def leading_imports_end(module: cst.Module) -> int:
    """The index in the module's body just past its docstring and the import statements that follow it."""
    end = 1 if module.body and _is_docstring_or_strict(module.body[0]) else 0
    while end < len(module.body) and _is_import_line(module.body[end]):
        end += 1
    return end


def _is_import_line(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Import | cst.ImportFrom)
    )


def _is_docstring_or_strict(statement: cst.CSTNode) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or not statement.body:
        return False
    first = statement.body[0]
    if isinstance(first, cst.Expr) and isinstance(first.value, cst.SimpleString):
        return True
    return (
        isinstance(first, cst.Assign)
        and len(first.targets) == 1
        and isinstance(first.targets[0].target, cst.Name)
        and first.targets[0].target.value == "__strict__"
    )


def add_imports(module: cst.Module, items: list[ImportItem]) -> cst.Module:
    """`module` with `items` imported at its top, as AddImportsVisitor writes them."""
    if not items:
        return module
    context = CodemodContext()
    for item in items:
        AddImportsVisitor.add_needed_import(context, item.module, item.obj_name, item.alias)
    return _TopLevelImports(context).transform_module(module)


def add_type_checking_imports(module: cst.Module, modules: set[str]) -> cst.Module:
    """`module` importing `modules` for type checkers and readers only (`if TYPE_CHECKING:`), after its leading
    imports: what annotations written as strings name, which importing at run time could form a cycle."""
    if not modules:
        return module
    module = add_imports(module, [ImportItem("typing", "TYPE_CHECKING", None)])
    end = leading_imports_end(module)
    lines = "".join(f"    import {name}\n" for name in sorted(modules))
    block = cst.parse_statement(f"if TYPE_CHECKING:  # what annotations written as strings name\n{lines}")
    return module.with_changes(body=[*module.body[:end], block, *module.body[end:]])
