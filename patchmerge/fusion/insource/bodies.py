"""Questions about the statements of a module or class body, and small edits of one def, for in-source writing."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import libcst as cst

from patchmerge.fusion.insource.apply import COMMENT
from patchmerge.fusion.insource.binding import Binding
from patchmerge.fusion.insource.carry import is_docstring
from patchmerge.fusion.insource.errors import CannotMove
from patchmerge.fusion.insource.module_info import ModuleInfo
from patchmerge.fusion.insource.moving import MovedFunction
from patchmerge.model import DefKind, FusionKind, PlannedPatch


def bound_above(info: ModuleInfo, name: str, def_name: str) -> bool:
    """`name` is bound by a top-level statement above the def `def_name` (so it is bound when that runs)."""
    for statement in info.module.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == def_name:
            return False
        if isinstance(statement, cst.SimpleStatementLine) and name in bound_names(statement):
            return True
    return False


def blank_lines(owner: str | None) -> list[cst.EmptyLine]:
    """The blank lines above a new def: two at module level, one in a class body (PEP 8)."""
    return [cst.EmptyLine(indent=False)] * (1 if owner else 2)


def body_of(info: ModuleInfo, owner: str | None) -> tuple[list[cst.BaseStatement], cst.ClassDef | None]:
    if owner is None:
        return list(info.module.body), None
    classes = [s for s in info.module.body if isinstance(s, cst.ClassDef) and s.name.value == owner]
    if len(classes) != 1 or not isinstance(classes[0].body, cst.IndentedBlock):
        raise CannotMove(f"class {owner} is not one plain top-level class of {info.name}")
    return list(classes[0].body.body), classes[0]


def single_def(
    body: list[cst.BaseStatement], name: str, missing: bool, a_class: bool = False
) -> cst.FunctionDef | cst.ClassDef | None:
    """The one statement that binds `name` in a body, which must be a def, or a class statement when `a_class`
    (None for a name to create)."""
    binders = [s for s in body if name in bound_names(s)]
    if missing:
        if binders:
            raise CannotMove(f"'{name}' is bound in the source already")
        return None
    kind = cst.ClassDef if a_class else cst.FunctionDef
    if len(binders) != 1 or not isinstance(binders[0], kind):
        raise CannotMove(f"'{name}' is not bound by one plain {'class' if a_class else 'def'} in its body")
    return binders[0]


def as_module_value(binding: Binding, target: ModuleInfo) -> Binding:
    """`binding` taken as a module value's where its module binds the function only by defs in `if`/`try` blocks
    (`if HAVE_TE: def get_fp8_context(...): ...` / `else: def get_fp8_context(...): ...`): no one def is the
    target, the name holds whichever ran, and the replacement rebinds it at the end of the module (as the
    runtime does once the module is imported), where the values' rules apply (insource.values)."""
    site = binding.site
    if site.owner_class is not None or binding.kind is not DefKind.FUNCTION or binding.wrappers or binding.value:
        return binding
    if binding.replacement is not None and binding.branches:  # as for values: replaced always and under a condition
        return binding
    found = target.top_binders(site.name)  # None where the module binds names in ways this does not read
    if not found or site.name in target.rebound:
        return binding
    plain = {id(statement) for statement in target.tree.body}
    if not all(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and id(node) not in plain for node in found):
        return binding
    # the module's own def is held aside at its end (insource.values): only where one surely ran and stays
    deleted = any(isinstance(node, ast.Delete) and any(isinstance(t, ast.Name) and t.id == site.name
                                                        for t in node.targets) for node in ast.walk(target.tree))
    if deleted or not any(_defines_on_every_path([statement], site.name) for statement in target.tree.body):
        return binding
    return replace(binding, kind=DefKind.VARIABLE, value=True)


def _defines_on_every_path(block: list[ast.stmt], name: str) -> bool:
    """Whether running `block` to its end surely defines `name` by a def: in it, or in each branch of an `if`
    (with an `else`) or in a `try` and each of its handlers."""
    for statement in block:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and statement.name == name:
            return True
        if isinstance(statement, ast.If) and _defines_on_every_path(statement.body, name) and \
                _defines_on_every_path(statement.orelse, name):
            return True
        if isinstance(statement, ast.Try) and (
            _defines_on_every_path(statement.body, name) or _defines_on_every_path(statement.orelse, name)
        ) and all(_defines_on_every_path(handler.body, name) for handler in statement.handlers):
            return True
    return False


def bound_names(statement: cst.BaseStatement) -> set[str]:
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


def is_named(expression: cst.BaseExpression, name: str) -> bool:
    return isinstance(expression, cst.Name) and expression.value == name


def with_first_statement(node: cst.FunctionDef, statement: cst.BaseStatement) -> cst.FunctionDef:
    if not isinstance(node.body, cst.IndentedBlock):
        raise CannotMove(f"{node.name.value} has a one-line body")
    body = list(node.body.body)
    at = 1 if body and is_docstring(body[0]) else 0
    body[at:at] = [statement]
    return node.with_changes(body=node.body.with_changes(body=body))


ImportTimeReads = dict[int, tuple[cst.CSTNode, frozenset[str]]]  # id of a statement -> it, the names it reads


def read_at_import(
    body: list[cst.BaseStatement], name: str, skip: cst.CSTNode | None, known: ImportTimeReads | None = None
) -> bool:
    """Whether code of `body` that runs when it executes (not inside a function body) reads `name`: such code
    would capture the fused object where the runtime, patching later, leaves it the original. `known` keeps
    what each statement reads across calls (a module's body is asked once per binding into it)."""
    known = {} if known is None else known
    for statement in body:
        if statement is skip:
            continue
        entry = known.get(id(statement))
        if entry is None or entry[0] is not statement:
            entry = known[id(statement)] = (statement, _read_at_import(statement))
        if name in entry[1]:
            return True
    return False


def _read_at_import(statement: cst.BaseStatement) -> frozenset[str]:
    """The names code of `statement` reads when it executes."""
    found: set[str] = set()

    class Find(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            for part in (*node.decorators, node.params):  # evaluated when the def runs
                part.visit(self)
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)  # `x.name` reads x, not a global `name`
            return False

    statement.visit(Find())
    return frozenset(found)


def refuse_reading_the_original(moved: MovedFunction, binding: Binding, originals: frozenset[str]) -> None:
    """A replacement that reaches the original it replaces (`from megatron.x import f as megatron_f`, or through
    a package's re-export: `originals`) would, moved in place of it, reach itself: the runtime keeps the
    original under the alias, the source cannot."""
    site = binding.site
    owner = f"{site.module}.{site.owner_class}" if site.owner_class else None
    direct = originals if owner is None else set()
    through = {site.module, *([owner] if owner else [])}  # the module or class, then `.name` on it
    attributes: set[tuple[str, str]] | None = None
    for read, local in moved.reads.items():
        if read in through and attributes is None:
            attributes = _name_attributes(moved.node)
        # `local.name` on the imported module or class (not `super(C, self).name`, which is the base's)
        if read in direct or (read in through and (local, site.name) in (attributes or ())):
            raise CannotMove(f"the patch reads the original it replaces ({read}), which moving would make itself")


def refuse_reading_a_patched_def(
    moved: MovedFunction,
    patched: frozenset[tuple[Path, str]],
    defined_at: Callable[[str], tuple[Path, str] | None] | None,
) -> None:
    """Moved code that reads a def this merge patches (`patched`) under a name of its own (`from m import f as
    megatron_f`) would get the patched def: the runtime rebinds only holders of the name `f`, so at runtime
    that alias stays the original."""
    for dotted, local in moved.reads.items() if defined_at is not None else ():
        if local != dotted.rsplit(".", 1)[-1] and local not in moved.original_aliases and (
            defined_at(dotted) in patched
        ):
            raise CannotMove(f"the patch reads {dotted} as '{local}', which the runtime leaves the original "
                             "(it rebinds only that name's holders), and this merge patches it")


def _name_attributes(node: cst.CSTNode) -> set[tuple[str, str]]:
    """Each `name.attr` read in `node`, as (name, attr)."""
    found: set[tuple[str, str]] = set()

    class Find(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            if isinstance(attribute.value, cst.Name):
                found.add((attribute.value.value, attribute.attr.value))

    node.visit(Find())
    return found


def read_when_defined(node: cst.FunctionDef | cst.ClassDef, names: set[str]) -> str | None:
    """One of `names` that `node` reads when it is defined (a decorator, a default, an annotation), if any."""
    found: list[str] = []

    class Find(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            if name.value in names:
                found.append(name.value)

    parts: list[cst.CSTNode] = [decorator.decorator for decorator in node.decorators]
    if isinstance(node, cst.FunctionDef):
        parts.append(node.params)
        if node.returns is not None:
            parts.append(node.returns)
    else:
        parts.extend(arg.value for arg in node.bases)
    for part in parts:
        part.visit(Find())
    return found[0] if found else None


def kept_for_state(
    original: cst.FunctionDef, state: set[str], body: list[cst.BaseStatement], taken: set[str]
) -> cst.FunctionDef:
    """The replaced `original` kept under a private name, never called: it is what binds module state (`global
    X` then `X = ...`) that other code of the module reads. At runtime that state stays unbound once the patch
    replaces the original; so it does here, and the name stays defined for a reader and for pyflakes."""
    name = f"_replaced_{original.name.value}"
    if any(name in bound_names(statement) for statement in body) or name in taken:
        raise CannotMove(f"the original {original.name.value} binds module state ('global {sorted(state)[0]}') "
                         f"and '{name}', the name to keep it under, is taken")
    note = (f"{COMMENT} the replaced {original.name.value}, never called: it binds {', '.join(sorted(state))}, "
            "which other code here reads")
    leading = [line for line in original.leading_lines if line.comment is None]
    return original.with_changes(
        name=cst.Name(name), leading_lines=[*leading, cst.EmptyLine(comment=cst.Comment(note))]
    )


def bound_as_staticmethod(
    binding: Binding, pp: PlannedPatch, node: cst.CSTNode | None, target: ModuleInfo
) -> str | None:
    """Where the runtime binds a patch, a plain module-level def, over a staticmethod, in source it stays a
    staticmethod (SPEC 3.2), as an engineer would write it and as TorchScript, which compiles a class with all its
    methods, needs it: when its module reads it only through the class (`Class.name`), where the two agree.
    Returns the fidelity note for the case that differs, a call through an instance elsewhere (None: it is not
    such a case)."""
    if binding.kind is not DefKind.STATICMETHOD or pp.kind is FusionKind.WRAP or pp.source is None:
        return None
    owner = binding.site.owner_class
    read = [n for n in ast.walk(target.tree) if isinstance(n, ast.Attribute) and n.attr == binding.site.name]
    if any(not (isinstance(n.value, ast.Name) and n.value.id == owner) for n in read):
        return None  # read through an instance (`self.name`) or another object: bound as the runtime binds it
    if pp.source.kind is not DefKind.FUNCTION or not isinstance(node, cst.FunctionDef) or node.decorators:
        return None
    params = [*node.params.posonly_params, *node.params.params]
    if params and params[0].name.value in ("self", "cls"):
        return None  # written to take the instance: bound as the runtime binds it
    return (f"{pp.patch.patch_import}, a plain function, replaces the staticmethod {pp.patch.target}: fused as a "
            f"staticmethod, as {binding.site.module} reads it only through the class; called through an instance "
            "elsewhere, it is not passed the instance, as it is at runtime")
