"""The edits planned for one file, and the transformer that applies them in one pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from patchmerge.fusion.insource.carry import ImportLine, is_docstring

COMMENT = "# patchmerge:"  # how each fused definition's comment line starts

Key = tuple[str | None, str]  # (class name or None, name) of a statement in a module body


@dataclass
class FileOps:
    """Everything one file gets, keyed by the statement it concerns."""

    replace: dict[Key, list[cst.BaseStatement]] = field(default_factory=dict)
    before: dict[str, list[cst.BaseStatement]] = field(default_factory=dict)  # top-level name -> inserted above
    after: dict[str, list[cst.BaseStatement]] = field(default_factory=dict)  # top-level class -> inserted below
    append: dict[str | None, list[cst.BaseStatement]] = field(default_factory=dict)  # class (None: module) -> end
    imports: dict[str, ImportLine] = field(default_factory=dict)  # bound name -> module-level import
    names: set[str] = field(default_factory=set)  # module-level names this merge adds
    back_imports: dict[str, ImportLine] = field(default_factory=dict)  # class names the back-imports bind
    class_imports: set[int] = field(default_factory=set)  # ids of those import statements (one kept per class)
    helper: bool = False
    # id of a `from m import f as alias, ...` -> {alias: module}: it imports each `alias` instead, a name m (or
    # the module given) now binds to f's original (the patch module's own renamed import of what its patch
    # replaces)
    renamed_imports: dict[int, dict[str, str | None]] = field(default_factory=dict)
    type_imports: set[str] = field(default_factory=set)  # modules annotations written as strings name
    after_def: dict[str, list[cst.BaseStatement]] = field(default_factory=dict)  # module def -> right below it
    def_probes: dict[str, list[cst.BaseStatement]] = field(default_factory=dict)  # module def -> its first lines
    flags: set[str] = field(default_factory=set)  # the module globals its probes test

    def copy(self) -> FileOps:
        return FileOps(
            {k: list(v) for k, v in self.replace.items()},
            {k: list(v) for k, v in self.before.items()},
            {k: list(v) for k, v in self.after.items()},
            {k: list(v) for k, v in self.append.items()},
            dict(self.imports),
            set(self.names),
            dict(self.back_imports),
            set(self.class_imports),
            self.helper,
            {k: dict(v) for k, v in self.renamed_imports.items()},
            set(self.type_imports),
            {k: list(v) for k, v in self.after_def.items()},
            {k: list(v) for k, v in self.def_probes.items()},
            set(self.flags),
        )


class Apply(cst.CSTTransformer):
    """Replace, insert and append the planned statements in a module and its top-level classes."""

    def __init__(self, ops: FileOps) -> None:
        self.ops = ops
        self.top_classes: set[int] = set()

    def visit_Module(self, node: cst.Module) -> bool:
        self.top_classes = {id(s) for s in node.body if isinstance(s, cst.ClassDef)}
        return True

    @property
    def _by_def(self) -> set[str]:
        return set(self.ops.after_def) | set(self.ops.def_probes)

    def _beside_def(self, written: list[cst.BaseStatement], name: str) -> list[cst.BaseStatement]:
        """The module def `name` among `written` with the probes other bindings put in it, and their
        statements right below it."""
        out: list[cst.BaseStatement] = []
        for statement in written:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
                if isinstance(statement.body, cst.IndentedBlock) and name in self.ops.def_probes:
                    body = list(statement.body.body)
                    at = 1 if body and is_docstring(body[0]) else 0
                    body[at:at] = self.ops.def_probes[name]
                    statement = statement.with_changes(body=statement.body.with_changes(body=body))
                out.append(statement)
                out.extend(self.ops.after_def.get(name, []))
            else:
                out.append(statement)
        return out

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return id(node) in self.top_classes  # only top-level classes hold targets

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # nothing planned lives inside a function

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        renamed = self.ops.renamed_imports.get(id(original))
        if renamed is None or isinstance(updated.names, cst.ImportStar):
            return updated
        names = [
            item.with_changes(name=cst.Name(item.evaluated_alias), asname=None)
            if item.evaluated_alias in renamed else item
            for item in updated.names
        ]
        modules = {module for module in renamed.values() if module is not None}
        if modules:  # one name, imported from the module that now binds it
            return updated.with_changes(module=cst.parse_expression(modules.pop()), names=names)
        return updated.with_changes(names=names)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if id(original) not in self.top_classes or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        body = self._edit(list(updated.body.body), original.name.value)
        return updated.with_changes(body=updated.body.with_changes(body=body))

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        return updated.with_changes(body=self._once(self._edit(list(updated.body), None)))

    def _once(self, body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        """Keep the first of the identical class imports back-imports write; its comment moves on."""
        seen: set[str] = set()
        out: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] | None = None
        for statement in body:
            if carried is not None and isinstance(statement, cst.SimpleStatementLine):
                statement = statement.with_changes(leading_lines=carried)
                carried = None
            if id(statement) in self.ops.class_imports:
                code = cst.Module([statement.with_changes(leading_lines=[])]).code
                if code in seen:
                    carried = list(statement.leading_lines)
                    continue
                seen.add(code)
            out.append(statement)
        return out

    def _edit(self, body: list[cst.BaseStatement], owner: str | None) -> list[cst.BaseStatement]:
        out: list[cst.BaseStatement] = []
        for statement in body:
            name = statement.name.value if isinstance(statement, cst.FunctionDef | cst.ClassDef) else ""
            if owner is None and name in self.ops.before:  # moved defs go above the top-level def they serve
                out.extend(self.ops.before[name])
            if isinstance(statement, cst.FunctionDef | cst.ClassDef) and (owner, name) in self.ops.replace:
                written = self.ops.replace[(owner, name)]
            else:
                written = [statement]
            out.extend(self._beside_def(written, name) if owner is None and name in self._by_def else written)
            if owner is None and isinstance(statement, cst.ClassDef) and name in self.ops.after:
                out.extend(self.ops.after[name])
        out.extend(self.ops.append.get(owner, []))
        return out


@dataclass
class Place:
    """Where a moved def lands: its module, class (None at module level), name, and file."""

    module: str
    owner_class: str | None
    name: str
    file: Path

