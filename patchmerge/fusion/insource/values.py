"""A module value replaced under conditions, in source, and the check every value rebound in place passes.

A name its module binds by an assignment or an import (`fused_sort_chunks_by_index = moe_sort_chunks_by_index`
in a `try`, `None` where it fails), or a name the patches create, rebound at the end of the module, where all of
the module's own code has run with what it bound, as at runtime (which rebinds it once the module is imported):

    # patchmerge: megatron.core.extensions.transformer_engine.fused_sort_chunks_by_index replaced by ... if ...
    if adaptation_args().use_fused_sort:
        fused_sort_chunks_by_index = moe_sort_chunks_by_index

A function moves to the end of the module (its imports inside it: it is defined whatever the conditions say); a
class moves there when defining it needs nothing the module does not import, else its branch imports it from its
module (insource.class_branches.InBranch). A name bound already stays as the module bound it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from patchmerge.fusion.insource.apply import COMMENT, Place
from patchmerge.fusion.insource.back_imports import back_import
from patchmerge.fusion.insource.beside import own_alias, place_beside
from patchmerge.fusion.insource.binding import Binding
from patchmerge.fusion.insource.bodies import blank_lines
from patchmerge.fusion.insource.branches import condition_code, if_chain
from patchmerge.fusion.insource.class_branches import InBranch, class_for_branch, imported_in_branch
from patchmerge.fusion.insource.errors import CannotMove
from patchmerge.fusion.insource.import_graph import packages_of
from patchmerge.fusion.insource.module_info import ModuleInfo
from patchmerge.fusion.sites import Site
from patchmerge.fusion.stanza import HELPER_ALIAS
from patchmerge.model import DefKind, PlannedPatch

if TYPE_CHECKING:  # the writer calls this module; only its type is named here
    from patchmerge.fusion.insource.writer import InSourceWriter


def plan_value_branches(writer: InSourceWriter, binding: Binding, target: ModuleInfo) -> None:
    site = binding.site
    ops = writer.file_ops(site.file)
    moved: list[cst.BaseStatement] = []
    local: dict[str, str | InBranch] = {}  # patch_import -> its name here, or the import of it
    for pp in binding.branches:
        if pp.patch.patch_import not in local:
            local[pp.patch.patch_import] = _branch_value(writer, binding, pp, target, moved)
    branches = []
    for pp in binding.branches:
        held = local[pp.patch.patch_import]
        bind = [held.statement(site.name) if isinstance(held, InBranch) else f"{site.name} = {held}"]
        if writer.context.probes:  # a moved function's probe runs once its branch was chosen
            moved_function = isinstance(held, str) and pp.source is not None and pp.source.kind is DefKind.FUNCTION \
                and pp.source.module != site.module
            probe = f"{HELPER_ALIAS}.select({pp.patch.id!r})" if moved_function else writer.probe_call([pp.patch.id])
            bind.append(probe)
        branches.append((condition_code(pp, binding.calls_read), [cst.parse_statement(line) for line in bind]))
    chain = if_chain(branches[::-1], None)  # a later registration that holds wins
    comments = [cst.EmptyLine(comment=cst.Comment(writer.comment(pp))) for pp in binding.branches]
    chain = chain.with_changes(leading_lines=[*blank_lines(None), *comments])
    ops.append.setdefault(None, []).extend([*moved, chain])
    ops.names.add(site.name)
    ops.helper = True  # the conditions read the helper's parse
    writer.options.update({option.dest: option for option in binding.options})
    check_holders(writer, binding)


def _branch_value(
    writer: InSourceWriter, binding: Binding, pp: PlannedPatch, target: ModuleInfo, moved: list[cst.BaseStatement]
) -> str | InBranch:
    """The name the branch binds: a def of the module, one moved to its end, or the import of a class."""
    site = binding.site
    source = pp.source
    assert source is not None and source.file is not None
    if source.module == site.module:  # a def of the module: bound by the time its end runs
        return source.qualname
    name = source.qualname
    ops = writer.file_ops(site.file)
    if name == site.name and source.kind is DefKind.FUNCTION and _defined_by_defs(site) and site.name not in ops.names:
        return _same_name_function(writer, pp, site, target, moved)
    if name == site.name:  # defined at the end whatever the conditions say, it would bind the name always
        return imported_in_branch(writer, pp, target, f"{pp.patch.patch_import} has the name of the value it replaces "
                                                      "under a condition")
    if target.binds(name) or name in ops.names or name in ops.imports:  # a name the module has for something else
        return imported_in_branch(writer, pp, target, f"{target.name} binds '{name}' already")
    if source.kind is DefKind.FUNCTION:
        return place_beside(writer, pp, site, target, site.name, "as a branch of", moved, [pp.patch.id])
    node = class_for_branch(writer, pp, site, target, writer.source_info(pp))
    if isinstance(node, InBranch):
        return node
    if node.original_aliases:
        raise CannotMove(f"{pp.patch.patch_import} reads the {site.name} it replaces when it is defined")
    writer.origins.setdefault(site.file, set()).add(source.file)
    writer.carry(pp, node, site.file, target)
    comment = cst.EmptyLine(comment=cst.Comment(f"{COMMENT} {pp.patch.patch_import}, moved here as a branch of "
                                                 f"{site.name}"))
    own = [line for line in node.node.leading_lines if line.comment is not None]
    moved.append(node.node.with_changes(leading_lines=[*blank_lines(None), comment, *own]))
    ops.names.add(name)
    back_import(writer, pp, Place(site.module, None, name, site.file), node.node)
    return name


def _defined_by_defs(site: Site) -> bool:
    """A function its module binds by defs in blocks, taken as a value (bodies.as_module_value): one of them surely
    ran, so the module's own can be held aside. A value bound by an assignment may be unbound there."""
    definition = site.targets[0].definition
    return definition is not None and definition.kind is DefKind.FUNCTION


def _same_name_function(
    writer: InSourceWriter, pp: PlannedPatch, site: Site, target: ModuleInfo, moved: list[cst.BaseStatement]
) -> str:
    """A function of the value's own name moved to the end of the module (where it keeps that name, for its
    `__name__` and tracebacks): the module's own value is held aside before the def and bound back after it, so
    only a branch that holds rebinds the name."""
    kept = own_alias(writer, site.module.split(".")[0], site.name, target, site.file)
    writer.file_ops(site.file).names.add(kept)
    moved.append(cst.parse_statement(f"{kept} = {site.name}  # {site.module}'s own, while the def below binds the "
                                     "name").with_changes(leading_lines=blank_lines(None)))
    local = place_beside(writer, pp, site, target, site.name, "as a branch of", moved, [pp.patch.id])
    moved.append(cst.parse_statement(f"{site.name} = {kept}"))
    return local


def check_holders(writer: InSourceWriter, binding: Binding) -> None:
    """A value rebound at the end of its module, or a name a patch creates there (the runtime binds it to None
    first): every other module holding it under that name must get it from there, after the module ran, and not
    read it as it loads (at runtime it had the original then); see fusion.value_holders. Called once the
    binding's own imports are planned, which count too."""
    site = binding.site
    ask = writer.context.holders
    if ask is None:
        raise CannotMove(f"{site.module}.{site.name} is a value, and this merge does not read who else holds it")
    always = binding.replacement.patch.patch_import if binding.replacement is not None else None
    facts = ask(site.module, site.name, always)
    if facts.refusal is not None:
        raise CannotMove(facts.refusal)
    graph = writer.context.imports
    for importer in facts.importers:
        if graph is None or graph.reaches(site.module, importer.module, loaded=packages_of(site.module)):
            raise CannotMove(f"{importer.module} imports {site.name} from {site.module} (line {importer.line}) while "
                             f"{site.module} loads, so it keeps the original, which the runtime rebinds later")
        if importer.read_at is not None:
            raise CannotMove(f"{importer.module} reads {site.name} as it loads (line {importer.read_at}), which gets "
                             "the original at runtime: it patches later")
    for pp in binding.patches:
        writer.notes.extend((pp, note) for note in facts.notes)


def unbound_until_chosen(site: Site, binding: Binding, moved: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """A name the patches create only under conditions, whose def moved here has that very name: the def binds
    it whatever the conditions say, where the runtime creates nothing unless one holds. So it is deleted once
    the def's own private name holds it, and only a branch binds it again."""
    named = any(isinstance(s, cst.FunctionDef | cst.ClassDef) and s.name.value == site.name for s in moved)
    if site.owner_class is not None or binding.replacement is not None or not named:
        return []
    return [cst.parse_statement(f"del {site.name}  # a new name: it exists only where a branch below binds it")]
