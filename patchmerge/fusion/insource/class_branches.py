"""A class replaced by classes under conditions, in source: the original stays as Megatron wrote it; each patch
class moves beside it, below it (it may subclass it), under its own name (one of the original's own name goes
above it, where it cannot read it, and is bound privately); then the branches bind the target's name, the last
registered that holds winning, as the runtime's Patch does:

    class GroupedMLP(MegatronModule): ...          # Megatron's, unchanged

    # patchmerge: mindspeed.moe.GmmExperts, moved here as a branch of GroupedMLP
    class GmmExperts(GroupedMLP): ...

    # patchmerge: megatron.core.transformer.moe.experts.GroupedMLP replaced by mindspeed.moe.GmmExperts if ...
    if adaptation_args().moe_grouped_gemm:
        GroupedMLP = GmmExperts

Each patch class is defined whatever the conditions say, as a conditional function branch's def is, so its
module can import it back (one definition, SPEC 3.4). So defining it must import nothing new: what its class
statement reads when it runs must be bound in the module already, or come from the standard library.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from patchmerge.fusion.insource.apply import COMMENT, Key, Place
from patchmerge.fusion.insource.back_imports import back_import, import_the_original_by_its_alias
from patchmerge.fusion.insource.beside import own_alias
from patchmerge.fusion.insource.binding import Binding
from patchmerge.fusion.insource.bodies import blank_lines
from patchmerge.fusion.insource.branches import adaptation_statements, condition_code, if_chain
from patchmerge.fusion.insource.carry import ImportLine
from patchmerge.fusion.insource.errors import CannotMove, NotAtDefinition
from patchmerge.fusion.insource.import_graph import packages_of
from patchmerge.fusion.insource.module_info import ModuleInfo
from patchmerge.fusion.insource.moving import MovedFunction, move_function
from patchmerge.fusion.sites import Site
from patchmerge.source.bindings import names_bound

if TYPE_CHECKING:  # the writer calls this module; only its type is named here
    from patchmerge.fusion.insource.writer import InSourceWriter
    from patchmerge.model import PlannedPatch


def plan_class_branches(
    writer: InSourceWriter, binding: Binding, target: ModuleInfo, original: cst.ClassDef, key: Key
) -> None:
    site = binding.site
    ops = writer.file_ops(site.file)
    below: list[cst.BaseStatement] = []  # the patch classes of other names, below the original
    above: list[cst.BaseStatement] = []  # those of its name, above it (they cannot read it), each privately bound
    aliases: set[str] = set()
    local: dict[str, str | InBranch] = {}  # patch_import -> its class's name here, or the import of it
    for pp in binding.branches:
        source = pp.source
        assert source is not None and source.file is not None
        if pp.patch.patch_import in local:
            continue  # one class for several branches
        if source.module == site.module:
            raise CannotMove(f"{pp.patch.patch_import} is defined in the target's own module")
        name = source.qualname
        same = name == site.name
        if not same and (target.binds(name) or name in ops.names or name in ops.imports):
            raise CannotMove(f"{target.name} already binds '{name}', the name of {pp.patch.patch_import}")
        info = writer.source_info(pp)
        moved = class_for_branch(writer, pp, site, target, info)
        if isinstance(moved, InBranch):
            local[pp.patch.patch_import] = moved
            continue
        writer.origins.setdefault(site.file, set()).add(source.file)
        if same and moved.original_aliases:
            raise CannotMove(f"{pp.patch.patch_import} has the name of the class it replaces and reads that class")
        if late := _bound_only_below(moved.node, target, original, with_original=not same):
            where = "above the class it replaces, having its name," if same else "right below the class it replaces"
            raise CannotMove(f"{pp.patch.patch_import} goes {where} and reads '{late}' when it is defined, which "
                             f"{target.name} binds only further down")
        writer.carry(pp, moved, site.file, target)
        import_the_original_by_its_alias(writer, info, source.file, site, moved.original_aliases - {site.name}, True)
        aliases |= moved.original_aliases
        comment = cst.EmptyLine(comment=cst.Comment(
            f"{COMMENT} {pp.patch.patch_import}, moved here as a branch of {site.name}"))
        own = [line for line in moved.node.leading_lines if line.comment is not None]
        node = moved.node.with_changes(leading_lines=[*blank_lines(None), comment, *own])
        bound = own_alias(writer, source.module, name, target, site.file) if same else name
        if same:  # the original's statement takes the name back; the branch binds this private one
            itself = cst.parse_statement(f"{bound} = {name}  # {pp.patch.patch_import} itself")
            above += [node, itself.with_changes(leading_lines=blank_lines(None))]
        else:
            below.append(node)
        ops.names.update({name, bound})
        local[pp.patch.patch_import] = bound
        if same:
            writer.notes.append((pp, f"{name} is defined in {site.module} under the private name {bound}, its "
                                     f"{site.name} being the original where the condition fails: pickled by name "
                                     "there, it is not found, where at runtime its own module holds it"))
        if moved.original_aliases:
            writer.notes.append((pp, f"{name} is defined in {site.module} below the original whatever the conditions "
                                     f"say, so it derives from the original {site.name}; at runtime, where its module "
                                     "is first imported after the adaptation bound another class, it derives from "
                                     "that class"))
        back_import(writer, pp, Place(site.module, None, bound, site.file), moved.node)
    statements: list[cst.BaseStatement] = [original]
    # the names the patch classes read the original by: its own name reads it until the branches rebind it, as
    # the runtime rebinds that name in the patch module too; another name keeps it, here as there
    for alias in sorted(aliases - {site.name}):
        if target.binds(alias) or alias in ops.names:
            raise CannotMove(f"{target.name} already binds '{alias}', the name a patch gives the original")
        ops.names.add(alias)
        statements.append(cst.parse_statement(f"{alias} = {site.name}").with_changes(leading_lines=blank_lines(None)))
    statements += below
    branches = []
    for pp in binding.branches:
        held = local[pp.patch.patch_import]
        bind = [held.statement(site.name) if isinstance(held, InBranch) else f"{site.name} = {held}"]
        if writer.context.probes:  # the class's code counts as run when the branch binds it
            bind.append(writer.probe_call([pp.patch.id]))
        branches.append((condition_code(pp, binding.calls_read), [cst.parse_statement(line) for line in bind]))
    chain: list[cst.BaseStatement] = adaptation_statements(binding)
    chain.append(if_chain(branches[::-1], None))  # a later registration that holds wins
    comments = [cst.EmptyLine(comment=cst.Comment(writer.comment(pp))) for pp in binding.branches]
    chain[0] = chain[0].with_changes(leading_lines=[*blank_lines(None), *comments, *chain[0].leading_lines])
    ops.helper = True  # the conditions read the helper's parse
    writer.options.update({option.dest: option for option in binding.options})
    if above:
        ops.before.setdefault(site.name, []).extend(above)
    ops.replace[key] = [*statements, *chain]


@dataclass(frozen=True)
class InBranch:
    """A patch class that stays in its module, imported by its branch: defining it needs what only that module
    (or a module the target does not import) gives, which must not be imported where the condition fails."""

    module: str
    name: str

    def statement(self, bound: str) -> str:
        return f"from {self.module} import {self.name}" + (f" as {bound}" if bound != self.name else "")


def class_for_branch(
    writer: InSourceWriter, pp: PlannedPatch, site: Site, target: ModuleInfo, info: ModuleInfo
) -> MovedFunction | InBranch:
    """The patch class of a branch moved into `target` under its own name (defined whatever the conditions say,
    so only with what the target imports already), else the import of it its branch runs."""
    name = pp.source.qualname  # type: ignore[union-attr]
    try:
        moved = move_function(
            info,
            name,
            name,
            rewritable=writer.context.rewritable,
            destination=target,
            original=writer.reexports.original_names(site),
            same_import=writer.reexports.same_import,
            lazy_imports=True,
        )
        defined_with_what_target_imports(pp, moved.module_imports, target)
    except NotAtDefinition as exc:
        return imported_in_branch(writer, pp, target, str(exc))
    return moved


def imported_in_branch(writer: InSourceWriter, pp: PlannedPatch, target: ModuleInfo, why: str) -> InBranch:
    """The class of `pp` imported from its module by its branch, which runs while `target` loads: only where
    importing that module never imports `target` (a cycle), and the import cannot fail there."""
    source = pp.source
    assert source is not None
    graph = writer.context.imports
    if "." in source.qualname or graph is None:
        raise CannotMove(why)
    if graph.reaches(source.module, target.name, loaded=packages_of(target.name)):  # imported before it
        raise CannotMove(f"{why}; importing {source.module} in the branch, while {target.name} loads, imports "
                         f"{target.name}: a cycle")
    if problem := graph.new_import_fails(target.name, source.module, packages_may_run=True):
        raise CannotMove(f"{why}; importing {source.module} in the branch can fail there: {problem}")
    graph.added.setdefault(target.name, set()).add(source.module)
    writer.kept_in_place.add(pp.patch.patch_import)
    writer.notes.append((pp, f"{source.qualname} stays in {source.module}, which the branch imports as "
                             f"{target.name} loads: {why}"))
    return InBranch(source.module, source.qualname)


def defined_with_what_target_imports(pp: PlannedPatch, imports: list[ImportLine], target: ModuleInfo) -> None:
    """Each patch class is defined in the target's module whatever the conditions say: only with modules the
    target imports already, or the standard library."""
    for line in imports:
        top = line.module.split(".")[0]
        if top not in sys.stdlib_module_names and not target.binds(top):
            raise NotAtDefinition(f"{pp.patch.patch_import} needs {line.module} when it is defined, which "
                                  f"{target.name} does not import", line.module, line.name, line.alias)


def _bound_only_below(
    node: cst.ClassDef, target: ModuleInfo, original: cst.ClassDef, with_original: bool
) -> str | None:
    """A name the class reads when it is defined that the module binds only below `original`'s statement (with
    `with_original`, only below and not by that statement itself)."""
    tree = ast.parse(cst.Module([node]).code).body[0]
    assert isinstance(tree, ast.ClassDef)
    body = list(target.module.body)
    position = next(index for index, statement in enumerate(body) if statement is original) + with_original
    above = set()
    for statement in ast.parse(cst.Module(body[:position]).code).body:
        above |= names_bound(statement)
    for name in sorted(_read_when_defined(tree)):
        if target.binds(name) and name not in above:
            return name
    return None


def _read_when_defined(node: ast.ClassDef) -> set[str]:
    """The names a class statement reads as it runs: its decorators, bases and keywords, and its body but for
    what its methods' bodies read when called."""
    names: set[str] = set()
    parts: list[ast.AST] = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
    for statement in node.body:
        if isinstance(statement, ast.ClassDef):
            names |= _read_when_defined(statement)
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = statement.args
            every = (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg)
            parts += [*statement.decorator_list, *arguments.defaults, *(d for d in arguments.kw_defaults if d)]
            parts += [a.annotation for a in every if a is not None and a.annotation is not None]
            if statement.returns is not None:
                parts.append(statement.returns)
        else:
            parts.append(statement)
    return names | {n.id for part in parts for n in ast.walk(part) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Load)}
