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


class _Reader:
    def __init__(self, resolver: StaticResolver) -> None:
        self.resolver = resolver
        self.trees: dict[Path, ast.Module] = {}

    def tree(self, idx: ModuleIndex) -> ast.Module | None:
        if idx.file is None:
            return None
        if idx.file not in self.trees:
            self.trees[idx.file] = ast.parse(idx.file.read_text(encoding="utf-8"))
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
    resolver: StaticResolver, module: str, name: str, replaced_alike: Callable[[str], bool] = lambda module: False
) -> ValueHolders:
    """The other holders of `module.name` (a value bound by an assignment or an import, or a name the patch
    creates, which the runtime binds to None first) the runtime would rebind.
    `replaced_alike(m)`: whether `m.name` is itself a target the same patch replaces unconditionally, which
    rebinds it to the same object."""
    reader = _Reader(resolver)
    found = ValueHolders()
    bindings = resolver.scan.bindings_named(name)
    held = Possible()
    if not any(idx.module == module for idx, _ in bindings):  # a new name: the runtime binds None there first
        held.constants.add(repr(None))
    for idx, binding in bindings:
        if idx.module != module:
            continue
        if binding.kind is BindKind.FROM and (source := _absolute(idx, binding)) is not None:
            if not resolver.tree.exists(source) and binding.attr == name:
                found.notes.append(f"{module} imports {name} from {source}, outside the source roots: the runtime "
                                   f"rebinds it there too, the fused tree leaves {source} as it is")
            elif resolver.tree.exists(source):
                possible = reader.attribute(source, binding.attr, 0)
                elsewhere = sorted(m for m, q in possible.defs if q.rpartition(".")[2] == name and m != module)
                if elsewhere:
                    return ValueHolders(f"{module} imports {name} from the tree (`{binding.text}`, line "
                                        f"{binding.line}): {elsewhere[0]}, which defines it, holds it under that "
                                        "name too, and the runtime rebinds it there as well")
        held.add(reader.of_binding(idx, binding))
    if held.anything:
        return ValueHolders(f"what {module}.{name} holds is computed (a call): which other modules hold the same "
                            "object cannot be read from source")
    target = _key(resolver, module, name)
    for idx, binding in bindings:
        if idx.module == module:
            continue
        if binding.kind is BindKind.FROM and (source := _absolute(idx, binding)) is not None:
            direct = source == module and binding.attr == name
            if direct or resolver.tree.exists(source) and _key(resolver, source, binding.attr) == target is not None:
                tree = reader.tree(idx)
                read_at = read_as_it_loads(tree, name) if tree is not None else binding.line
                found.importers.append(Importer(idx.module, binding.line, read_at))
                continue
        if reader.of_binding(idx, binding).meets(held) and not replaced_alike(idx.module):
            return ValueHolders(f"{idx.module} binds {name} too (`{binding.text}`, line {binding.line}), possibly to "
                                f"the same object: the runtime rebinds it there as well, which one statement in "
                                f"{module} cannot show")
    try:
        aliases = [s for s in resolver.scan.importers_of(module, name) if s.local_name != name and not s.in_function]
    except Unresolved:
        aliases = []
    for site in aliases:  # SPEC 3.9: an alias under a different name
        found.notes.append(f"{site.module} imports {name} as {site.local_name} (line {site.line}): where it is "
                           "imported before the adaptation, the runtime leaves that name the original; in the fused "
                           f"tree it is what {module} binds at its end")
    return found


def _key(resolver: StaticResolver, module: str, name: str) -> tuple[str, str] | None:
    try:
        definition = resolver.module_attr(module, name)
    except (Fail, Unresolved):
        return None
    return None if definition is None else (definition.module, definition.qualname)


def read_as_it_loads(tree: ast.Module, name: str) -> int | None:
    """The first line where a module's own code reads `name` as the module runs (not in a function's body)."""
    reads = _Reads(name)
    reads.visit(tree)
    return min(reads.lines) if reads.lines else None


class _Reads(ast.NodeVisitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[int] = []

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == self.name and isinstance(node.ctx, ast.Load):
            self.lines.append(node.lineno)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for part in [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(part)
        every = (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg)
        for annotation in [a.annotation for a in every if a is not None and a.annotation is not None]:
            self.visit(annotation)
        if node.returns is not None:
            self.visit(node.returns)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for part in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(part)
