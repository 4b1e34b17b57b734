"""Move a module-level function out of its module and keep the meaning of every free name (SPEC section 3.10).

libcst's ScopeProvider answers, for each name the function reads, what binds it in the module it comes from:
- an import of a package the merge may rewrite (MindSpeed, Megatron): carried into the body of each function
  that reads it, so it runs at call time and no import cycle can form;
- an import of anything else (stdlib, torch): carried to the new module's top, unless that module binds the
  name otherwise (then into the function bodies, as above);
- a helper, constant or other module-level name of the source module: imported from it in the body of each
  function that reads it, so state the source module rebinds is read as it is at call time;
- a builtin: nothing, unless the new module shadows it.
What would change meaning (a `global` statement, module dunders, a name read at definition time that only the
source module can give) is refused with the reason, and the binding falls back to the deferred strategy.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst
from libcst.helpers import get_absolute_module_from_package_for_import
from libcst.metadata import (
    Access,
    Assignment,
    BuiltinAssignment,
    FunctionScope,
    GlobalScope,
    ImportAssignment,
    Scope,
)

from patchmerge.fusion.insource.annotations import signature_annotations
from patchmerge.fusion.insource.carry import CarryImports, ImportLine
from patchmerge.fusion.insource.errors import CannotMove, NotAtDefinition
from patchmerge.fusion.insource.module_info import ModuleInfo, Scopes
from patchmerge.fusion.insource.module_state import DropGlobals, declared_global, global_stores
from patchmerge.fusion.insource.walk import children, subtree_ids
from patchmerge.source.modules import absolute_module, package_of

_MODULE_DUNDERS = frozenset({"__name__", "__file__", "__spec__", "__package__", "__loader__", "__path__", "__dict__"})
_BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass
class MovedFunction:
    """A function ready to be written into another module."""

    node: cst.FunctionDef | cst.ClassDef  # renamed, with carried imports at the top of the bodies that need them
    module_imports: list[ImportLine] = field(default_factory=list)  # for the new module's top
    reads: dict[str, str] = field(default_factory=dict)  # dotted name -> local name of each MindSpeed/Megatron import
    original_aliases: set[str] = field(default_factory=set)  # local names under which a moved class reads the original
    # what annotations written as strings name: (dotted path, the module to import for it)
    string_annotations: list[tuple[str, str]] = field(default_factory=list)


def _import_line(assignment: ImportAssignment, source: ModuleInfo) -> ImportLine:
    statement = assignment.node
    if isinstance(statement, cst.Import):
        for alias in statement.names:
            if alias.evaluated_alias == assignment.name or alias.evaluated_name == assignment.name:
                return ImportLine(alias.evaluated_name, None, alias.evaluated_alias)
        for alias in statement.names:  # `import a.b` binds `a` (and loads a.b): carried as written
            if alias.evaluated_alias is None and alias.evaluated_name.split(".")[0] == assignment.name:
                return ImportLine(alias.evaluated_name)
        raise CannotMove(f"cannot read the import of '{assignment.name}'")
    assert isinstance(statement, cst.ImportFrom)
    package = package_of(source.name, source.is_package)
    module = get_absolute_module_from_package_for_import(package or None, statement)
    if module is None or isinstance(statement.names, cst.ImportStar):
        raise CannotMove(f"'{assignment.name}' comes from an import the merge cannot carry (a star import)")
    for alias in statement.names:
        if (alias.evaluated_alias or alias.evaluated_name) == assignment.name:
            return ImportLine(module, alias.evaluated_name, alias.evaluated_alias)
    raise CannotMove(f"cannot read the import of '{assignment.name}'")


def _read_import_line(node: ast.AST, name: str, module: ModuleInfo) -> ImportLine | None:
    """`_import_line` of an import read with `ast` (None: not an import, or not one that can be carried)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if name in (alias.asname, alias.name):
                return ImportLine(alias.name, None, alias.asname)
        for alias in node.names:  # `import a.b` binds `a` (and loads a.b): carried as written
            if alias.asname is None and alias.name.split(".")[0] == name:
                return ImportLine(alias.name)
        return None
    if not isinstance(node, ast.ImportFrom):
        return None
    imported = absolute_module(package_of(module.name, module.is_package), node.module, node.level)
    found = [alias for alias in node.names if (alias.asname or alias.name) == name and alias.name != "*"]
    return ImportLine(imported, found[0].name, found[0].asname) if imported is not None and found else None


def _enclosing_function(scope: Scope) -> FunctionScope | None:
    """The function whose body runs the code of `scope` (a class or comprehension runs in its function)."""
    current: Scope | None = scope
    while current is not None and not isinstance(current, GlobalScope):
        if isinstance(current, FunctionScope):
            return current
        current = current.parent
    return None


def move_function(
    source: ModuleInfo,
    name: str,
    new_name: str,
    *,
    rewritable: tuple[str, ...],
    destination: ModuleInfo,
    destination_class: cst.ClassDef | None = None,
    original: frozenset[str] = frozenset(),
    same_import: Callable[[ImportLine, ImportLine], bool] | None = None,
    lazy_imports: bool = False,
    applied_at_import: Callable[[ImportLine], bool] | None = None,
) -> MovedFunction:
    """The module-level function (or class) `name` of `source`, renamed, made to read the same objects from
    `destination`. A class reads `original` (the dotted names of the class it replaces, which stays in the
    destination beside it) through local names the caller binds to it: `MovedFunction.original_aliases`."""
    node: cst.FunctionDef | cst.ClassDef | None = source.top_level_def(name)
    if node is None and original:
        node = source.top_level_class(name)
    if node is None:
        raise CannotMove(f"{source.name}.{name} is not one plain module-level def")
    if destination_class is not None and isinstance(node, cst.FunctionDef) and (why := _class_body_changes(node)):
        raise CannotMove(f"{name} {why}")
    original_aliases: set[str] = set()
    inside = subtree_ids(node)
    local_imports: dict[cst.FunctionDef, dict[ImportLine, None]] = {}
    module_imports: dict[ImportLine, None] = {}
    reads: dict[str, str] = {}
    through_module: dict[int, str] = {}  # id of a Name node -> module it is read from as an attribute

    def at_call_time(scope: Scope, line: ImportLine) -> None:
        function = _enclosing_function(scope)
        if function is None or not isinstance(function.node, cst.FunctionDef) or id(function.node) not in inside:
            at_definition_time(line)
            return
        in_function(function.node, line)

    def in_function(function: cst.FunctionDef, line: ImportLine) -> None:
        if function is node and applied_at_import is not None and not applied_at_import(line):
            # a wrapper's own body runs when it is applied: in source, while the destination is importing
            raise NotAtDefinition(f"'{line.bound}' is imported when {name} is applied, while {destination.name} "
                                  f"loads, and importing {line.module} then could form a cycle", *line.parts)
        local_imports.setdefault(function, {})[line] = None

    def at_definition_time(line: ImportLine) -> None:
        """A class body, its bases and decorators, and its methods' defaults and annotations run when the class
        is defined: only an import the destination can run at its top does (never MindSpeed: a cycle)."""
        if isinstance(node, cst.ClassDef) and not _is_rewritable(line.module, rewritable):
            if not destination.binds(line.bound):
                module_imports[line] = None
                return
        if bound_alike(destination, line, same_import):
            return  # the destination's top binds the same object already (a re-export counts)
        raise NotAtDefinition(f"'{line.bound}' is read when {name} is defined, and only {source.name} can give it",
                              *line.parts)

    analysis = source.scopes_for(node)
    state = declared_global(node) if source.rebound else set()  # module state the code rebinds
    if state and not isinstance(node, cst.FunctionDef):
        raise CannotMove(f"{name} rebinds module state of {source.name} ('global {sorted(state)[0]}')")
    stores = [a.node for n in state for a in analysis.global_scope.assignments[n] if id(a.node) in inside]
    written = global_stores(node, state, stores, source.name)
    for store, function in written.names.items():
        in_function(function, ImportLine(source.name))
        through_module[store] = source.name
    for function, _ in written.imports.values():
        in_function(function, ImportLine(source.name))

    def resolve_access(scope: Scope, access: Access) -> None:
        if id(access.node) not in inside:
            return
        referents = [r for r in access.referents if r.scope is analysis.global_scope]
        if len(referents) != len(list(access.referents)):
            return  # a local, parameter or enclosing-function name: it moves with the code
        read = _access_name(access.node)
        if read in _MODULE_DUNDERS:
            raise CannotMove(f"{name} reads the module's own {read}, which would name another module")
        bound = [r for r in referents if not isinstance(r, BuiltinAssignment)]
        if not bound:
            if read in _BUILTIN_NAMES and destination.binds(read):
                raise CannotMove(f"{destination.name} binds the builtin name '{read}' that {name} reads")
            if read not in _BUILTIN_NAMES and destination.binds(read):
                # a NameError where it was written would quietly become the destination's object
                raise CannotMove(f"{name} reads '{read}', which {source.name} never binds and "
                                 f"{destination.name} does")
            return  # a builtin, or a name nothing binds (pyflakes reports it if the move adds it)
        if read in state and isinstance(access.node, cst.Name):  # module state the code rebinds
            at_call_time(scope, ImportLine(source.name))
            through_module[id(access.node)] = source.name
            return
        if len(bound) != 1 or not isinstance(bound[0], ImportAssignment):
            if any(isinstance(b, Assignment) and b.node is node for b in bound):
                # the function calls itself: the source module re-exports it under its old name
                at_call_time(scope, ImportLine(source.name, name))
            elif _defined_once(bound) and read not in source.rebound:
                at_call_time(scope, ImportLine(source.name, read))  # a helper def or class: one object
            else:
                # state the source module may rebind: read through the module at each use, never copied
                if not isinstance(access.node, cst.Name):
                    raise CannotMove(f"cannot read '{read}' of {source.name} through the module")
                at_call_time(scope, ImportLine(source.name))
                through_module[id(access.node)] = source.name
            return
        line = _import_line(bound[0], source)
        dotted = line.module if line.name is None else f"{line.module}.{line.name}"
        if dotted in original:
            original_aliases.add(line.bound)  # the caller binds it to the original beside the moved class
            reads[dotted] = line.bound
            return
        if _is_rewritable(line.module, rewritable):
            reads[dotted] = line.bound
        if line.module == destination.name and line.name == line.bound and destination.binds(read):
            return  # `from M import n` run in M reads M's own global n: the plain name says the same
        if bound_alike(destination, line) and not (
            destination_class is not None and _class_binds(destination_class, line.bound)
        ):
            return  # the new module binds the same name to the same import already
        if _is_rewritable(line.module, rewritable) or (lazy_imports and _enclosing_function(scope) is not None):
            # code that runs only under a condition imports what it needs when it runs: a module only that
            # branch needs (mindspore, say) must not stop the destination from importing
            at_call_time(scope, line)
        elif not destination.binds(line.bound):
            if destination_class is not None and _class_binds(destination_class, line.bound):
                at_call_time(scope, line)
            else:
                module_imports[line] = None
        else:
            at_call_time(scope, line)

    annotations = signature_annotations(node)
    stringified: dict[int, dict[int, str]] = {}  # annotations written as strings: id -> {id of a name -> dotted}
    string_modules: dict[str, str] = {}  # dotted path -> the module to import for it
    for scope in {s for s in analysis.of.values() if s is not None}:
        for access in scope.accesses:
            try:
                resolve_access(scope, access)
            except NotAtDefinition as exc:
                annotation = annotations.get(id(access.node))
                if annotation is None:
                    raise
                dotted = _dotted(exc, access.node, source)
                stringified.setdefault(id(annotation), {})[id(access.node)] = dotted
                string_modules[dotted] = exc.module
    if through_module:
        package = source.name.split(".")[0]
        for function in local_imports:
            if _binds_locally(analysis, function, package):
                raise CannotMove(f"{name} binds '{package}' itself, so {source.name} cannot be read through it")
    imports_through = dict.fromkeys(written.imports, source.name)
    carried = node.visit(CarryImports(local_imports, through_module, imports_through, stringified))
    if state:
        carried = carried.visit(DropGlobals(state))
    assert isinstance(carried, cst.FunctionDef | cst.ClassDef)
    strings_of = sorted(string_modules.items())
    return MovedFunction(
        carried.with_changes(name=cst.Name(new_name)), list(module_imports), reads, original_aliases, strings_of
    )


def _class_body_changes(node: cst.FunctionDef) -> str | None:
    """What in `node`, written as it stands, a class body would change (code inside a class it defines
    aside): reading `super` other than as `super(C, self)`, or `__class__` (Python gives such code the class cell
    of the body it is written in, where the module-level function the runtime binds has none and fails), or a
    name `__x` (mangled with the class's name there, as written at module level it is not)."""
    todo: list[cst.CSTNode] = list(children(node))
    while todo:
        current = todo.pop()
        if isinstance(current, cst.ClassDef):
            continue
        if isinstance(current, cst.Call) and isinstance(current.func, cst.Name) and current.func.value == "super" \
                and current.args:  # `super(C, self)` names its class: the same wherever it is written
            todo.extend(current.args)
            continue
        if isinstance(current, cst.Attribute):
            todo.append(current.value)
            if _mangled(current.attr.value):
                return f"names {current.attr.value}, which a class body would mangle and its module does not"
            continue
        if isinstance(current, cst.Name):
            if current.value in ("super", "__class__"):
                return (f"reads {current.value}: as the module-level function the runtime binds it has no class "
                        "cell and fails, in a class body it would not")
            if _mangled(current.value):
                return f"names {current.value}, which a class body would mangle and its module does not"
        todo.extend(children(current))
    return None


def _mangled(name: str) -> bool:
    return name.startswith("__") and not name.endswith("__")


def _dotted(exc: NotAtDefinition, node: cst.CSTNode, source: ModuleInfo) -> str:
    """The full dotted path of what a name in an annotation reads."""
    if exc.name is not None:
        return f"{exc.module}.{exc.name}"
    if exc.alias is None and exc.module != source.name:
        return cst.Module([]).code_for_node(node)  # `import a.b` read as `a.b...`: already the full path
    return f"{exc.module}.{_access_name(node)}" if exc.module == source.name else exc.module


def _defined_once(bound: list[Assignment | BuiltinAssignment]) -> bool:
    return len(bound) == 1 and isinstance(bound[0], Assignment) and isinstance(
        bound[0].node, cst.FunctionDef | cst.ClassDef
    )


def _binds_locally(analysis: Scopes, function: cst.FunctionDef | cst.ClassDef, name: str) -> bool:
    scope = analysis.of.get(function.body.body[0]) if isinstance(function.body, cst.IndentedBlock) else None
    return scope is not None and any(a.scope is scope for a in scope.assignments[name])


def _access_name(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Name):
        return node.value
    return cst.Module([]).code_for_node(node).split(".")[0]


def _is_rewritable(module: str, rewritable: tuple[str, ...]) -> bool:
    return module.split(".")[0] in rewritable


def bound_alike(
    destination: ModuleInfo, line: ImportLine, same: Callable[[ImportLine, ImportLine], bool] | None = None
) -> bool:
    """The destination already binds the name by the same import at module level (or, with `same`, by an
    import `same` says gives the same object)."""
    found = destination.top_binders(line.bound)  # read with `ast` where it can be: no scope analysis
    bound = line.bound
    imports = _imports_binding(destination, bound) if found is None else _imports_read(destination, bound, found)
    # a module may import one name twice (once relative, once absolute): all alike
    return bool(imports) and all(theirs == line or (same is not None and same(theirs, line)) for theirs in imports)


def _imports_binding(module: ModuleInfo, name: str) -> list[ImportLine]:
    """The imports that bind `name` at the module's top, by its scope analysis; none where anything else binds
    it there too, or one of them cannot be carried."""
    bindings = module.global_bindings(name)
    if not all(isinstance(binding, ImportAssignment) for binding in bindings):
        return []
    try:
        return [_import_line(binding, module) for binding in bindings]
    except CannotMove:
        return []


def _imports_read(module: ModuleInfo, name: str, found: list[ast.AST]) -> list[ImportLine]:
    """`_imports_binding` from the `ast` nodes that bind the name (`ModuleInfo.top_binders`)."""
    lines = [_read_import_line(node, name, module) for node in found]
    return [line for line in lines if line is not None] if None not in lines else []


def _class_binds(node: cst.ClassDef, name: str) -> bool:
    """A moved method's decorators and defaults are evaluated in the class body, where class names shadow."""
    for statement in node.body.body:
        if isinstance(statement, cst.FunctionDef | cst.ClassDef) and statement.name.value == name:
            return True
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                targets = getattr(small, "targets", None) or [getattr(small, "target", None)]
                for target in targets:
                    value = getattr(target, "target", target)
                    if isinstance(value, cst.Name) and value.value == name:
                        return True
    return False
