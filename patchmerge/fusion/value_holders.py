"""Which other modules hold a module value a patch replaces, as the runtime's rebinding would find them.

The runtime sets the patch on the target's module, then on every loaded module that holds the *same object* under
the *same name* (SPEC section 1). A value bound by an assignment or an import (`ops = grouped_gemm.ops if ... else
None`, `from apex... import FastLayerNormFN` in a `try`) is rebound in source by one statement at the end of its
module. That is faithful only where every other module holding the value under that name imports it from there,
after the module ran, and reads it only when called. Read from source: each module-level binding of the name in
the tree is compared with what the target's own bindings may hold (a definition of the tree, a constant, a value
of a library, or anything at all, for a call).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from patchmerge.fusion.load_reads import read_as_it_loads, unindexed_binding
from patchmerge.model import DefKind, Unresolved
from patchmerge.resolution.fail import Fail
from patchmerge.resolution.resolver import StaticResolver
from patchmerge.source.bindings import guarded_statements
from patchmerge.source.captures import dotted
from patchmerge.source.index import Binding, BindKind, ModuleIndex

_DEPTH = 4  # `A = B`, `B = C`, ...: followed this far, then anything


@dataclass
class Possible:
    """What a name may hold, as far as source tells."""

    defs: set[tuple[str, str]] = field(default_factory=set)  # (module, qualname) of definitions of the tree
    constants: set[str] = field(default_factory=set)  # repr of literal values (None)
    libraries: set[str] = field(default_factory=set)  # top-level packages outside the tree it comes from
    anything: bool = False

    def add(self, other: Possible) -> None:
        self.defs |= other.defs
        self.constants |= other.constants
        self.libraries |= other.libraries
        self.anything |= other.anything

    def meets(self, other: Possible) -> bool:
        return self.anything or other.anything or bool(
            self.defs & other.defs or self.constants & other.constants or self.libraries & other.libraries
        )


@dataclass(frozen=True)
class Importer:
    """A module that binds the value from its module, at module level, under the same name."""

    module: str
    line: int
    read_at: int | None  # the first line its own code reads the name as it loads


@dataclass
class ValueHolders:
    refusal: str | None = None  # why one statement at the end of the module cannot show the runtime's rebinding
    notes: list[str] = field(default_factory=list)  # where it differs anyway (a library's module it came from)
    importers: list[Importer] = field(default_factory=list)


class ValueReader:
    """Source read for the holder questions of one merge: each file parsed once."""

    def __init__(self, resolver: StaticResolver) -> None:
        self.resolver = resolver
        self.trees: dict[Path, ast.Module] = {}
        self.texts: dict[Path, str] = {}

    def text(self, path: Path) -> str:
        if path not in self.texts:
            self.texts[path] = path.read_text(encoding="utf-8", errors="replace")
        return self.texts[path]

    def importer(self, idx: ModuleIndex, line: int, name: str) -> Importer:
        tree = self.tree(idx)
        return Importer(idx.module, line, read_as_it_loads(tree, name) if tree is not None else line)

    def unindexed(self, name: str, skip: str) -> tuple[str, int] | None:
        """A rewritable module other than `skip` binding `name` in a way the index does not record."""
        for idx in self.resolver.scan.modules():
            if idx.module == skip or idx.file is None or name not in self.text(idx.file):
                continue
            tree = self.tree(idx)
            if tree is not None and (line := unindexed_binding(tree, name)) is not None:
                return idx.module, line
        return None

    def module_named(self, idx: ModuleIndex, dotted_name: str) -> str | None:
        """The module a dotted name read in `idx` is, where its head is bound by `import` (`import a.b`, `import
        a.b as h`)."""
        head, _, rest = dotted_name.partition(".")
        for i in idx.candidates(head):
            binding = idx.bindings[i]
            if binding.kind is BindKind.IMPORT:
                return ".".join(part for part in (binding.source, rest) if part)
        return None

    def tree(self, idx: ModuleIndex) -> ast.Module | None:
        if idx.file is None:
            return None
        if idx.file not in self.trees:
            try:
                self.trees[idx.file] = ast.parse(self.text(idx.file))
            except SyntaxError:
                return None
        return self.trees[idx.file]

    def statement(self, idx: ModuleIndex, binding: Binding) -> ast.stmt | None:
        tree = self.tree(idx)
        if tree is None:
            return None
        for statement, _ in guarded_statements(tree.body):
            if statement.lineno == binding.line and statement.col_offset == binding.column:
                return statement
        return None

    def of_name(self, module: str, name: str, depth: int = 0) -> Possible:
        """What `module.name` may hold: every module-level binding of it, each possibly the one that ran."""
        found = Possible()
        if depth > _DEPTH or not self.resolver.tree.exists(module):
            found.anything = True
            return found
        idx = self.resolver.index(module)
        own = [idx.bindings[i] for i in idx.candidates(name) if idx.bindings[i].kind is not BindKind.STAR]
        if not own:
            found.anything = True
        for binding in own:
            found.add(self.of_binding(idx, binding, depth))
        return found

    def of_binding(self, idx: ModuleIndex, binding: Binding, depth: int = 0) -> Possible:
        found = Possible()
        if binding.kind in (BindKind.DEF, BindKind.CLASS):
            found.defs.add((idx.module, binding.name))
        elif binding.kind is BindKind.FROM:
            source = _absolute(idx, binding)
            if source is None:
                found.anything = True
            elif not self.resolver.tree.exists(source):
                found.libraries.add(source.split(".")[0])
            else:
                found.add(self.attribute(source, binding.attr, depth))
        elif binding.kind is BindKind.IMPORT:
            source = binding.source
            if self.resolver.tree.exists(source):
                found.defs.add((source, ""))  # the module object
            else:
                found.libraries.add(source.split(".")[0])
        elif binding.kind is BindKind.ASSIGN:
            statement = self.statement(idx, binding)
            value = getattr(statement, "value", None)
            if isinstance(value, ast.expr):
                found.add(self.of_expression(idx, value, depth))
            else:
                found.anything = True
        else:
            found.anything = True
        return found

    def attribute(self, module: str, name: str, depth: int) -> Possible:
        found = Possible()
        try:
            definition = self.resolver.module_attr(module, name)
        except (Fail, Unresolved):
            definition = None
        if definition is None:
            found.anything = True
        elif definition.kind is DefKind.VARIABLE:
            found.add(self.of_name(definition.module, definition.qualname, depth + 1))
        else:
            found.defs.add((definition.module, definition.qualname))
        return found

    def of_expression(self, idx: ModuleIndex, value: ast.expr, depth: int) -> Possible:
        found = Possible()
        if isinstance(value, ast.Constant):
            found.constants.add(repr(value.value))
        elif isinstance(value, ast.IfExp):
            found.add(self.of_expression(idx, value.body, depth))
            found.add(self.of_expression(idx, value.orelse, depth))
        elif isinstance(value, ast.BoolOp):
            for part in value.values:
                found.add(self.of_expression(idx, part, depth))
        elif (name := dotted(value)) is not None:
            head, _, rest = name.partition(".")
            if not rest:
                found.add(self.of_name(idx.module, head, depth + 1))
                return found
            try:  # `module.attr` of the tree
                definition = self.resolver.resolve(f"{idx.module}.{name}")
            except Unresolved:
                definition = None
            if definition is not None and definition.kind is not DefKind.VARIABLE:
                found.defs.add((definition.module, definition.qualname))
                return found
            # an attribute of what the head holds: a library's, or unknown
            head_holds = self.of_name(idx.module, head, depth + 1)
            if head_holds.defs or head_holds.anything:
                found.anything = True
            found.libraries |= head_holds.libraries
        else:
            found.anything = True  # a call, a subscript: anything
        return found


def _absolute(idx: ModuleIndex, binding: Binding) -> str | None:
    try:
        return idx.absolute(binding.level, binding.source)
    except ValueError:
        return None


def value_holders(
    reader: ValueReader, module: str, name: str, replaced_alike: Callable[[str], bool] = lambda module: False
) -> ValueHolders:
    """The other holders of `module.name` (a value bound by an assignment or an import, or a name the patch
    creates, which the runtime binds to None first) the runtime would rebind. `replaced_alike(m)`: whether
    `m.name` is itself a target the same patch replaces unconditionally, which rebinds it to the same object."""
    resolver = reader.resolver
    found = ValueHolders()
    bindings = resolver.scan.bindings_named(name)
    held = Possible()
    if not any(idx.module == module for idx, _ in bindings):  # a new name: the runtime binds None there first
        held.constants.add(repr(None))
    for idx, binding in bindings:
        if idx.module != module:
            continue
        if (why := _held_where_it_comes_from(reader, idx, binding, name, found.notes)) is not None:
            return ValueHolders(why)
        held.add(reader.of_binding(idx, binding))
    if held.anything:
        return ValueHolders(f"what {module}.{name} holds is computed (a call): which other modules hold the same "
                            "object cannot be read from source")
    if repr(None) in held.constants:
        found.notes.append(f"where {module}.{name} is None (or missing), the runtime rebinds every other loaded module "
                           "holding None under that name, libraries and modules outside the packages this merge reads "
                           f"among them; the fused tree rebinds it in {module}")
    target = _key(resolver, module, name)
    for idx, binding in bindings:
        if idx.module == module:
            continue
        if binding.kind is BindKind.FROM and (source := _absolute(idx, binding)) is not None:
            direct = source == module and binding.attr == name
            if direct or resolver.tree.exists(source) and _key(resolver, source, binding.attr) == target is not None:
                found.importers.append(reader.importer(idx, binding.line, name))
                continue
        if reader.of_binding(idx, binding).meets(held) and not replaced_alike(idx.module):
            return ValueHolders(f"{idx.module} binds {name} too (`{binding.text}`, line {binding.line}), possibly to "
                                f"the same object: the runtime rebinds it there as well, which one statement in "
                                f"{module} cannot show")
    for idx, source in resolver.scan.star_importers(name):
        if idx.module != module and (source == module or _key(resolver, source, name) == target is not None):
            found.importers.append(reader.importer(idx, 0, name))
    if (unread := reader.unindexed(name, module)) is not None:
        return ValueHolders(f"{unread[0]} binds {name} at line {unread[1]} (a `global`, a loop or `with` target, "
                            f"`:=`, `globals()`): it may hold the same object, which the runtime rebinds there too")
    try:
        captures = [c for c in resolver.scan.captures_of(module, name) if c.module != module]
        aliases = [s for s in resolver.scan.importers_of(module, name) if s.local_name != name and not s.in_function]
    except Unresolved:
        captures, aliases = [], []
    if captures:
        return ValueHolders(f"{captures[0].module} reads {module}.{name} as it loads (`{captures[0].text}`, line "
                            f"{captures[0].line}), which gets the original at runtime: it patches later")
    for site in aliases:  # SPEC 3.9: an alias under a different name
        found.notes.append(f"{site.module} imports {name} as {site.local_name} (line {site.line}): where it is "
                           "imported before the adaptation, the runtime leaves that name the original; in the fused "
                           f"tree it is what {module} binds at its end")
    return found


def _held_where_it_comes_from(
    reader: ValueReader, idx: ModuleIndex, binding: Binding, name: str, notes: list[str]
) -> str | None:
    """A module the target's own binding takes the value from, under the same name (`from m import name`,
    `name = m.name`, `import a.b.name as name`), holds it too: the runtime rebinds it there as well. In the tree
    that is a refusal (returned); outside it (a library), a note."""
    module = idx.module
    sources: list[str] = []
    if binding.kind is BindKind.FROM and binding.attr == name and (source := _absolute(idx, binding)) is not None:
        sources.append(source)
    elif binding.kind is BindKind.IMPORT and binding.source.rpartition(".")[2] == name and "." in binding.source:
        sources.append(binding.source.rpartition(".")[0])  # its package holds the submodule under that name
    elif binding.kind is BindKind.ASSIGN:
        statement = reader.statement(idx, binding)
        value = getattr(statement, "value", None)
        for part in _alternatives(value) if isinstance(value, ast.expr) else []:
            dotted_name = dotted(part)
            if dotted_name is not None and dotted_name.rpartition(".")[2] == name and "." in dotted_name:
                head = dotted_name.rpartition(".")[0]
                sources.append(reader.module_named(idx, head) or head)
    for source in sources:
        if reader.resolver.tree.exists(source):
            return (f"{module} binds {name} from {source} (`{binding.text}`, line {binding.line}), which holds it "
                    "under that name too: the runtime rebinds it there as well")
        notes.append(f"{module} takes {name} from {source}, outside the source roots, which holds it under that name "
                     f"too: the runtime rebinds it there as well, the fused tree leaves {source} as it is")
    return None


def _alternatives(value: ast.expr) -> list[ast.expr]:
    """The expressions a value may be: both arms of `a if c else b`, each operand of `a or b`."""
    if isinstance(value, ast.IfExp):
        return [*_alternatives(value.body), *_alternatives(value.orelse)]
    if isinstance(value, ast.BoolOp):
        return [part for operand in value.values for part in _alternatives(operand)]
    return [value]


def _key(resolver: StaticResolver, module: str, name: str) -> tuple[str, str] | None:
    try:
        definition = resolver.module_attr(module, name)
    except (Fail, Unresolved):
        return None
    return None if definition is None else (definition.module, definition.qualname)
