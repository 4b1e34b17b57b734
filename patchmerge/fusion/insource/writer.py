"""Write in-source bindings: the code that runs, at each patched definition (SPEC sections 3.2, 3.10, 3.12).

- a replacement's def moves to the target's place under the target's name and the original leaves the source;
  the patch module imports the name back from there, so there is one definition;
- wrappers apply right after the def, `name = wrapper(name)`, the first registered innermost; a wrapper's def
  moves beside the target (its module could not be imported there without risking a cycle);
- each fused definition carries one comment line per patch naming it and where it was registered, and, with
  probes, one statement that reports its branches the first time the code runs.

Every file is parsed once; all of a file's edits are planned against that parse and applied in one pass. A
binding that cannot be written this way is left to the deferred strategy with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, ImportItem

from patchmerge.fusion.insource.binding import Binding
from patchmerge.fusion.insource.moving import (
    CannotMove,
    ImportLine,
    ModuleInfo,
    bound_alike,
    is_docstring,
    move_function,
)
from patchmerge.fusion.sites import Site
from patchmerge.fusion.stanza import HELPER_ALIAS
from patchmerge.model import DefKind, PlannedPatch

COMMENT = "# patchmerge:"
Key = tuple[str | None, str]  # (class name or None, name) of a statement in a module body


@dataclass
class FileOps:
    """Everything one file gets, keyed by the statement it concerns."""

    replace: dict[Key, list[cst.BaseStatement]] = field(default_factory=dict)
    before: dict[str, list[cst.BaseStatement]] = field(default_factory=dict)  # top-level name -> inserted above
    append: dict[str | None, list[cst.BaseStatement]] = field(default_factory=dict)  # class (None: module) -> end
    imports: dict[str, ImportLine] = field(default_factory=dict)  # bound name -> module-level import
    names: set[str] = field(default_factory=set)  # module-level names this merge adds
    back_imports: dict[str, ImportLine] = field(default_factory=dict)  # class names the back-imports bind
    class_imports: set[int] = field(default_factory=set)  # ids of those import statements (one kept per class)
    helper: bool = False

    def copy(self) -> FileOps:
        return FileOps(
            {k: list(v) for k, v in self.replace.items()},
            {k: list(v) for k, v in self.before.items()},
            {k: list(v) for k, v in self.append.items()},
            dict(self.imports),
            set(self.names),
            dict(self.back_imports),
            set(self.class_imports),
            self.helper,
        )


@dataclass
class Context:
    read: Callable[[Path], str]
    rewritable: tuple[str, ...]
    helper_module: str
    probes: bool
    registered_at: Callable[[PlannedPatch], str]  # "file:line" of the registration, for the comment


class InSourceWriter:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.infos: dict[Path, ModuleInfo] = {}
        self.ops: dict[Path, FileOps] = {}
        self.moved: dict[str, tuple[Path, str]] = {}  # patch_import -> (file it moved to, name there)

    def info(self, path: Path, module: str, is_package: bool = False) -> ModuleInfo:
        if path not in self.infos:
            try:
                self.infos[path] = ModuleInfo.parse(module, self.context.read(path), is_package)
            except cst.ParserSyntaxError as exc:
                raise CannotMove(f"{path} cannot be parsed ({exc.message})") from None
        return self.infos[path]

    def add(self, binding: Binding) -> None:
        """Plan `binding`'s edits; raise CannotMove (and change nothing) when it cannot be written in source."""
        staged = {path: ops.copy() for path, ops in self.ops.items()}
        moved = dict(self.moved)
        try:
            self._plan(binding)
        except CannotMove:
            self.ops, self.moved = staged, moved
            raise

    def _ops(self, path: Path) -> FileOps:
        return self.ops.setdefault(path, FileOps())

    def _locate(self, path: Path, key: Key) -> None:
        if any(key in ops.replace for p, ops in self.ops.items() if p == path):
            raise CannotMove(f"{key[1]} in {path} is rewritten for another binding")

    def _plan(self, binding: Binding) -> None:
        site = binding.site
        target = self.info(site.file, site.module, site.file.name == "__init__.py")
        body, klass = _body_of(target, site.owner_class)
        ops = self._ops(site.file)
        key: Key = (site.owner_class, site.name)
        self._locate(site.file, key)
        original = _single_def(body, site.name, binding.kind is DefKind.MISSING)
        anchor = site.owner_class or site.name
        statements: list[cst.BaseStatement] = []
        comments = [self._comment(pp) for pp in binding.patches]
        if binding.replacement is not None:
            pp = binding.replacement
            source = self._source_info(pp)
            name = pp.source.qualname  # type: ignore[union-attr]
            moved = move_function(
                source, name, site.name, rewritable=self.context.rewritable, destination=target, destination_class=klass
            )
            for line in moved.module_imports:
                self._module_import(site.file, target, line)
            definition = moved.node
            self._back_import(pp, Place(site.module, site.owner_class, site.name, site.file), moved.node)
        else:
            assert original is not None
            definition = original
            if binding.kind is DefKind.STATICMETHOD:
                # the runtime wraps what getattr returns: the plain function, and binds the result as it is
                definition = definition.with_changes(
                    decorators=[d for d in definition.decorators if not _is_named(d.decorator, "staticmethod")]
                )
        if self.context.probes:
            definition = _with_first_statement(definition, self._probe(binding))
            ops.helper = True
        if original is None:
            leading = _blank_lines(site.owner_class)
        else:  # a replaced original's comments leave with it; a wrapped one keeps them
            keep = binding.replacement is None
            leading = [line for line in original.leading_lines if keep or line.comment is None]
        own = [line for line in definition.leading_lines if line.comment is not None and binding.replacement]
        definition = definition.with_changes(
            leading_lines=[*leading, *(cst.EmptyLine(comment=cst.Comment(c)) for c in comments), *own]
        )
        statements.append(definition)
        for pp in binding.wrappers:
            local = self._wrapper_name(pp, site, target, anchor)
            statements.append(cst.parse_statement(f"{site.name} = {local}({site.name})"))
        if original is None:
            self._ops(site.file).append.setdefault(site.owner_class, []).extend(statements)
            self._ops(site.file).names.add(site.name)
        else:
            self._ops(site.file).replace[key] = statements

    def _source_info(self, pp: PlannedPatch) -> ModuleInfo:
        source = pp.source
        assert source is not None and source.file is not None
        if pp.patch.patch_import in self.moved:
            raise CannotMove(f"{pp.patch.patch_import} already moved for another binding")
        return self.info(source.file, source.module, source.file.name == "__init__.py")

    def _comment(self, pp: PlannedPatch) -> str:
        role = "wrapped by" if pp.kind and pp.kind.value == "wrap" else "replaced by"
        return f"{COMMENT} {pp.patch.target} {role} {pp.patch.patch_import} ({self.context.registered_at(pp)})"

    def _probe(self, binding: Binding) -> cst.BaseStatement:
        """One statement: the first time the definition runs, each of its branches is probed once."""
        target = binding.site.targets[0].target
        ids = [pp.patch.id for pp in binding.patches]
        if binding.replacement is None:
            ids.insert(0, f"{target}#original")
        return cst.parse_statement(f"{HELPER_ALIAS}.first_run(__name__, {', '.join(repr(i) for i in ids)})")

    def _module_import(self, path: Path, target: ModuleInfo, line: ImportLine) -> None:
        ops = self._ops(path)
        known = ops.imports.get(line.bound)
        if known is not None and known != line:
            raise CannotMove(f"'{line.bound}' would be imported into {target.name} twice, differently")
        if known is None and line.bound in ops.names:
            raise CannotMove(f"'{line.bound}' is already a name this merge adds to {target.name}")
        ops.imports[line.bound] = line

    def _back_import(self, pp: PlannedPatch, place: Place, node: cst.FunctionDef) -> None:
        """The patch module imports the moved def back from its new place: one definition, one object."""
        source = pp.source
        assert source is not None and source.file is not None
        info = self.info(source.file, source.module)
        name = source.qualname
        key: Key = (None, name)
        self._locate(source.file, key)
        module, owner, target_name = place.module, place.owner_class, place.name
        where = f"{module}.{owner + '.' if owner else ''}{target_name}"
        comment = cst.EmptyLine(comment=cst.Comment(f"{COMMENT} {name} moved to {where}"))
        if owner is None:
            alias = "" if name == target_name else f" as {name}"
            lines = [f"from {module} import {target_name}{alias}"]
        else:
            line = ImportLine(module, owner)
            bindings = info.global_bindings(owner)
            if bindings and not bound_alike(info, line):
                raise CannotMove(f"{source.module} binds '{owner}' to something else, so it cannot import {where}")
            added = self._ops(source.file).back_imports
            if owner in added and added[owner] != line:
                raise CannotMove(f"{source.module} would get '{owner}' from two modules")
            added[owner] = line
            # each back-import binds the class itself unless the module imported it above the def already
            lines = [] if _bound_above(info, owner, name) else [f"from {module} import {owner}"]
            reach = f"{owner}.{target_name}" if not node.decorators else f'vars({owner})["{target_name}"]'
            lines.append(f"{name} = {reach}")
        statements = [cst.parse_statement(text) for text in lines]
        original = info.top_level_def(name)
        leading = list(original.leading_lines) if original is not None else []
        blank = [line for line in leading if line.comment is None]
        statements[0] = statements[0].with_changes(leading_lines=[*blank, comment])
        if owner is not None and len(statements) == 2:
            self._ops(source.file).class_imports.add(id(statements[0]))
        self._ops(source.file).replace[key] = statements
        self.moved[pp.patch.patch_import] = (place.file, target_name)

    def _wrapper_name(self, pp: PlannedPatch, site: Site, target: ModuleInfo, anchor: str) -> str:
        """The name the wrapper has in the target module, moving its def there if it lives elsewhere."""
        source = pp.source
        assert source is not None
        file = site.file
        name = source.qualname
        done = self.moved.get(pp.patch.patch_import)
        if done is not None:
            if done[0] != file:
                raise CannotMove(f"{pp.patch.patch_import} moved to {done[0]} for another binding; importing it "
                                 "here when the module loads could form a cycle")
            return done[1]
        if target.global_bindings(name) or name in self._ops(file).names or name in self._ops(file).imports:
            raise CannotMove(f"{target.name} already binds '{name}', the wrapper's name")
        info = self._source_info(pp)
        moved = move_function(info, name, name, rewritable=self.context.rewritable, destination=target)
        for line in moved.module_imports:
            self._module_import(file, target, line)
        comment = cst.EmptyLine(comment=cst.Comment(f"{COMMENT} {pp.patch.patch_import}, moved here to wrap {anchor}"))
        own = [line for line in moved.node.leading_lines if line.comment is not None]
        node = moved.node.with_changes(leading_lines=[*_blank_lines(None), comment, *own])
        ops = self._ops(file)
        ops.before.setdefault(anchor, []).append(node)
        ops.names.add(name)
        self._back_import(pp, Place(target.name, None, name, file), moved.node)
        return name

    def render(self) -> dict[Path, str]:
        """Each planned file's new text."""
        out: dict[Path, str] = {}
        for path, ops in self.ops.items():
            info = self.infos[path]
            module = info.module.visit(_Apply(ops))
            assert isinstance(module, cst.Module)
            items = [ImportItem(line.module, line.name, line.alias) for line in ops.imports.values()]
            if ops.helper:
                items.append(ImportItem(self.context.helper_module, None, HELPER_ALIAS))
            if items:
                context = CodemodContext()
                for item in items:
                    AddImportsVisitor.add_needed_import(context, item.module, item.obj_name, item.alias)
                module = AddImportsVisitor(context).transform_module(module)
            out[path] = module.code
        return out


@dataclass
class Place:
    """Where a moved def lands: its module, class (None at module level), name, and file."""

    module: str
    owner_class: str | None
    name: str
    file: Path


def _bound_above(info: ModuleInfo, name: str, def_name: str) -> bool:
    """`name` is bound by a top-level statement above the def `def_name` (so it is bound when that runs)."""
    for statement in info.module.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == def_name:
            return False
        if isinstance(statement, cst.SimpleStatementLine) and name in _bound_names(statement):
            return True
    return False


def _blank_lines(owner: str | None) -> list[cst.EmptyLine]:
    """The blank lines above a new def: two at module level, one in a class body (PEP 8)."""
    return [cst.EmptyLine(indent=False)] * (1 if owner else 2)


def _body_of(info: ModuleInfo, owner: str | None) -> tuple[list[cst.BaseStatement], cst.ClassDef | None]:
    if owner is None:
        return list(info.module.body), None
    classes = [s for s in info.module.body if isinstance(s, cst.ClassDef) and s.name.value == owner]
    if len(classes) != 1 or not isinstance(classes[0].body, cst.IndentedBlock):
        raise CannotMove(f"class {owner} is not one plain top-level class of {info.name}")
    return list(classes[0].body.body), classes[0]


def _single_def(body: list[cst.BaseStatement], name: str, missing: bool) -> cst.FunctionDef | None:
    """The one statement that binds `name` in a body, which must be a def (None for a name to create)."""
    binders = [s for s in body if name in _bound_names(s)]
    if missing:
        if binders:
            raise CannotMove(f"'{name}' is bound in the source already")
        return None
    if len(binders) != 1 or not isinstance(binders[0], cst.FunctionDef):
        raise CannotMove(f"'{name}' is not bound by one plain def in its body")
    return binders[0]


def _bound_names(statement: cst.BaseStatement) -> set[str]:
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return {statement.name.value}
    names: set[str] = set()

    class Targets(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            names.add(node.value)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            return False

    if isinstance(statement, cst.SimpleStatementLine):
        for small in statement.body:
            for target in _assigned(small):
                target.visit(Targets())
        return names
    # compound statements (if/try/for/with) that may bind it: count every name they store
    for node in _stores(statement):
        names.add(node)
    return names


def _assigned(small: cst.BaseSmallStatement) -> list[cst.CSTNode]:
    if isinstance(small, cst.Assign):
        return [t.target for t in small.targets]
    if isinstance(small, cst.AnnAssign | cst.AugAssign):
        return [small.target]
    if isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(getattr(small, "names", None), cst.ImportStar):
        return [cst.Name((a.evaluated_alias or a.evaluated_name).split(".")[0]) for a in small.names]  # type: ignore[union-attr]
    return []


def _stores(statement: cst.BaseStatement) -> set[str]:
    found: set[str] = set()

    class Find(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            found.add(node.name.value)
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            found.add(node.name.value)
            return False

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            for small in node.body:
                for target in _assigned(small):
                    found.update(n.value for n in _names(target))
            return False

    statement.visit(Find())
    return found


def _names(node: cst.CSTNode) -> list[cst.Name]:
    if isinstance(node, cst.Name):
        return [node]
    if isinstance(node, cst.Tuple | cst.List):
        return [n for element in node.elements for n in _names(element.value)]
    return []


def _is_named(expression: cst.BaseExpression, name: str) -> bool:
    return isinstance(expression, cst.Name) and expression.value == name


def _with_first_statement(node: cst.FunctionDef, statement: cst.BaseStatement) -> cst.FunctionDef:
    if not isinstance(node.body, cst.IndentedBlock):
        raise CannotMove(f"{node.name.value} has a one-line body")
    body = list(node.body.body)
    at = 1 if body and is_docstring(body[0]) else 0
    body[at:at] = [statement]
    return node.with_changes(body=node.body.with_changes(body=body))


class _Apply(cst.CSTTransformer):
    """Replace, insert and append the planned statements in a module and its top-level classes."""

    def __init__(self, ops: FileOps) -> None:
        self.ops = ops
        self.top_classes: set[int] = set()

    def visit_Module(self, node: cst.Module) -> bool:
        self.top_classes = {id(s) for s in node.body if isinstance(s, cst.ClassDef)}
        return True

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return id(node) in self.top_classes  # only top-level classes hold targets

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # nothing planned lives inside a function

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if id(original) not in self.top_classes or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        body = self._edit(list(updated.body.body), original.name.value)
        return updated.with_changes(body=updated.body.with_changes(body=body))

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        body = self._edit(list(updated.body), None)
        out: list[cst.BaseStatement] = []
        for statement in body:
            name = getattr(getattr(statement, "name", None), "value", None)
            if isinstance(statement, cst.FunctionDef | cst.ClassDef) and name in self.ops.before:
                out.extend(self.ops.before[name])
            out.append(statement)
        return updated.with_changes(body=self._once(out))

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
            if isinstance(statement, cst.FunctionDef) and (owner, statement.name.value) in self.ops.replace:
                out.extend(self.ops.replace[(owner, statement.name.value)])
            else:
                out.append(statement)
        out.extend(self.ops.append.get(owner, []))
        return out
