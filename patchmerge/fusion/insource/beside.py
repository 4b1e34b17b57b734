"""A wrapper's or a conditional replacement's def, moved beside the target it serves.

The def keeps its own name (the runtime binds the patch object, whose `__name__` shows in errors and logs). Where
that name is taken in the destination (the target's own name, or another moved def of the same name) the def
gets a private binding of its own as well, and the name is handed back to whoever held it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from patchmerge.fusion.insource.apply import COMMENT, Place
from patchmerge.fusion.insource.back_imports import back_import, import_the_original_by_its_alias
from patchmerge.fusion.insource.binding import Binding
from patchmerge.fusion.insource.bodies import (
    blank_lines,
    bound_as_staticmethod,
    read_when_defined,
    refuse_reading_the_original,
    with_first_statement,
)
from patchmerge.fusion.insource.branches import condition_code
from patchmerge.fusion.insource.errors import CannotMove
from patchmerge.fusion.insource.module_info import ModuleInfo
from patchmerge.fusion.insource.moving import MovedFunction, move_function
from patchmerge.fusion.sites import Site
from patchmerge.fusion.stanza import HELPER_ALIAS
from patchmerge.model import DefKind, FusionKind, PlannedPatch

if TYPE_CHECKING:  # the writer calls this module; only its type is named here
    from patchmerge.fusion.insource.writer import InSourceWriter


def place_beside(
    writer: InSourceWriter,
    pp: PlannedPatch,
    site: Site,
    target: ModuleInfo,
    anchor: str,
    role: str,
    moved_beside: list[cst.BaseStatement],
    probe: list[str] | None,
    reads_original: set[str] | None = None,
    chosen: bool = True,
) -> str:
    """The name a wrapper or a conditional replacement has in the target module, its def moved there (into
    `moved_beside`) if it lives elsewhere: importing it there when the module loads could form a cycle. With
    `reads_original`, a branch may read the original it replaces (`megatron_gather = gather` imported in its
    module): the names it reads it by are added there, and the caller binds them to the original."""
    source = pp.source
    assert source is not None
    file = site.file
    name = source.qualname
    done = writer.moved.get(pp.patch.patch_import)
    if done is not None:
        if done[0] == file:
            _defined_above(writer, pp, target, anchor)
            return done[1]
        return writer.bind_moved(pp, target, done[1], file)
    if source.module == site.module:  # a branch defined beside the target already: nothing moves
        return _same_module(writer, pp, site, target, probe)
    ops = writer.file_ops(file)
    if name in ops.imports:
        raise CannotMove(f"{target.name} imports '{name}' for this merge, the name of {pp.patch.patch_import}")
    local = name  # its own name: the runtime binds the patch object, whose __name__ shows in errors and logs
    earlier = None  # a def this merge moved here earlier under the same name: it keeps that name
    if site.owner_class is None and name == site.name:
        # the branch rebinds the name, so the def keeps its name and the patch a binding of its own
        local = own_alias(writer, source.module, name, target, file)
    elif name in ops.names:
        if name not in writer.moved_defs.get(file, {}) or target.binds(name):
            raise CannotMove(f"{target.name} already binds '{name}', the name of {pp.patch.patch_import}")
        earlier = _alias_earlier(writer, file, name, moved_beside)
        local = own_alias(writer, source.module, name, target, file)
    elif target.binds(name):
        raise CannotMove(f"{target.name} already binds '{name}', the name of {pp.patch.patch_import}")
    info = writer.source_info(pp)
    writer.origins.setdefault(file, set()).add(source.file)
    same = writer.reexports.same_import
    rewritable = writer.context.rewritable
    moved = move_function(
        info,
        name,
        name,
        rewritable=rewritable,
        destination=target,
        same_import=same,
        lazy_imports=pp.patch.is_conditional,
        applied_at_import=writer._safe_at_import(target) if pp.kind is FusionKind.WRAP else None,
        original=writer.reexports.original_names(site) if reads_original is not None else frozenset(),
    )
    if moved.original_aliases:
        assert reads_original is not None and source.file is not None
        moved = calling_the_original(writer, site, info, source.file, moved)
        reads_original.update(moved.original_aliases)
    if pp.kind is not FusionKind.WRAP:
        refuse_reading_the_original(
            moved, Binding(site, DefKind.FUNCTION, pp, []), writer.reexports.original_names(site, moved.reads)
        )
    writer.carry(pp, moved, file, target)
    served = f"{site.owner_class}.{site.name}" if site.owner_class else site.name
    comment = cst.EmptyLine(comment=cst.Comment(f"{COMMENT} {pp.patch.patch_import}, moved here {role} {served}"))
    own = [line for line in moved.node.leading_lines if line.comment is not None]
    node = moved.node.with_changes(leading_lines=[*blank_lines(None), comment, *own])
    if probe and writer.context.probes:
        node = with_first_statement(node, writer.probe(probe, target, chosen=chosen))
        writer.file_ops(file).helper = True
    moved_beside.append(node)
    if local != name:
        moved_beside.append(cst.parse_statement(f"{local} = {name}  # {pp.patch.patch_import} itself"))
    if earlier is not None:  # the module-level name stays the earlier def's
        moved_beside.append(cst.parse_statement(f"{name} = {earlier}"))
    elif site.owner_class is not None or name != site.name:
        writer.moved_defs.setdefault(file, {})[name] = node
    ops.names.update({local, name})
    back_import(writer, pp, Place(target.name, None, local, file), moved.node)
    writer.moved_anchor[pp.patch.patch_import] = anchor
    return local


def _defined_above(writer: InSourceWriter, pp: PlannedPatch, target: ModuleInfo, anchor: str) -> None:
    """A def moved beside another binding of this module is bound here when the module loads: it must be
    defined above, so the other binding's top-level statement must come first."""
    placed = writer.moved_anchor.get(pp.patch.patch_import)
    if placed == anchor:
        return  # beside the same statement
    order = [s.name.value for s in target.module.body if isinstance(s, cst.FunctionDef | cst.ClassDef)]
    if placed is None or placed not in order or anchor not in order or order.index(placed) > order.index(anchor):
        raise CannotMove(f"{pp.patch.patch_import} moved beside {placed} for another binding, below {anchor}, "
                         "which binds it when the module loads")


def own_alias(writer: InSourceWriter, module: str, name: str, target: ModuleInfo, file: Path) -> str:
    """A private module-level name for a moved def that cannot hold its own: `_<module>_<name>`, with more of
    the module's path where two patch modules end alike."""
    parts = module.split(".")
    ops = writer.file_ops(file)
    for count in range(1, len(parts) + 1):
        alias = f"_{'_'.join(parts[-count:])}_{name}"
        if alias not in ops.names and alias not in ops.imports and not target.binds(alias):
            return alias
    raise CannotMove(f"{target.name} already binds every private name for {module}.{name}")


def _alias_earlier(writer: InSourceWriter, file: Path, name: str, moved_beside: list[cst.BaseStatement]) -> str:
    """The earlier def moved here under `name` gets a binding of its own right after it (once), so a later
    def of the same name can hand the name back to it."""
    node = writer.moved_defs[file][name]
    known = writer.earlier_aliases.get((file, name))
    if known is not None:
        return known
    ops = writer.file_ops(file)
    alias = f"_{name}_first"
    while alias in ops.names or alias in ops.imports:
        alias = f"_{alias}"
    holders = [moved_beside, *ops.before.values(), *ops.append.values()]
    holder = next(h for h in holders if any(item is node for item in h))
    position = next(i for i, item in enumerate(holder) if item is node)
    holder.insert(position + 1, cst.parse_statement(f"{alias} = {name}"))
    ops.names.add(alias)
    writer.earlier_aliases[(file, name)] = alias
    return alias



def _same_module(
    writer: InSourceWriter, pp: PlannedPatch, site: Site, target: ModuleInfo, probe: list[str] | None
) -> str:
    """A module-level branch that the target's own module defines above the target: the chain names it."""
    name = pp.source.qualname  # type: ignore[union-attr]
    body = list(target.module.body)
    node = target.top_level_def(name)
    original = target.top_level_def(site.name)
    if node is None or original is None or body.index(node) > body.index(original):
        raise CannotMove(f"{pp.patch.id}: the patch is not one def above the target in {target.name}")
    if len(target.global_bindings(name)) != 1:
        raise CannotMove(f"{pp.patch.id}: {target.name} binds '{name}' more than once")
    writer.locate(site.file, (None, name))
    comment = cst.EmptyLine(comment=cst.Comment(f"{COMMENT} {name} is also a branch of {site.name}"))
    kept = node.with_changes(leading_lines=[*node.leading_lines, comment])
    if probe and writer.context.probes:
        kept = with_first_statement(kept, writer.probe(probe, target, chosen=True))
        writer.file_ops(site.file).helper = True
    writer.file_ops(site.file).replace[(None, name)] = [kept]
    return name


def beside_replacement(
    writer: InSourceWriter,
    binding: Binding,
    target: ModuleInfo,
    anchor: str,
    moved_beside: list[cst.BaseStatement],
    always_wrapped: list[PlannedPatch],
    chosen: bool,
) -> list[cst.BaseStatement]:
    """`name = replacement`, the replacement's def moved beside the target: where wrappers rebind the name,
    the patch's own name keeps the bare def. `chosen`: it is the else of branches, probed where taken."""
    pp = binding.replacement
    assert pp is not None
    site = binding.site
    probe = [pp.patch.id, *(w.patch.id for w in always_wrapped)]
    local = place_beside(writer, pp, site, target, anchor, "to replace", moved_beside, probe, chosen=chosen)
    lines = [f"{site.name} = {local}"]
    if chosen and writer.context.probes:
        lines.append(f"{HELPER_ALIAS}.select({pp.patch.id!r})")
    return [cst.parse_statement(line) for line in lines]


def calling_the_original(
    writer: InSourceWriter, site: Site, info: ModuleInfo, file: Path, moved: MovedFunction
) -> MovedFunction:
    """`moved` (a branch, or a replacement) calls the original it replaces by names its module imports it under
    (`from megatron.x import f as megatron_f`): the target's module keeps the original under those names (see
    `keep_original`), and the patch module imports them from there."""
    early = read_when_defined(moved.node, moved.original_aliases)
    if early:
        raise CannotMove(f"{site.name}'s patch reads the original it replaces ('{early}') when it is defined")
    import_the_original_by_its_alias(writer, info, file, site, moved.original_aliases)
    return replace(moved, reads={k: v for k, v in moved.reads.items() if v not in moved.original_aliases})


def keep_original(
    writer: InSourceWriter, site: Site, target: ModuleInfo, names: set[str], by: str = "a branch"
) -> list[cst.BaseStatement]:
    """The original stays defined, bound under the names `by` reads it by (as its module imports it)."""
    ops = writer.file_ops(site.file)
    for name in sorted(names):
        if target.binds(name) or name in ops.names or name in ops.imports:
            raise CannotMove(f"{target.name} already binds '{name}', the name {by} reads the original by")
    ops.names.update(names)
    note = f"# the original, which {by} calls"
    return [cst.parse_statement(f"{name} = {site.name}  {note}") for name in sorted(names)]


def branch_bound_as(writer: InSourceWriter, binding: Binding, pp: PlannedPatch, local: str) -> str:
    """How a branch binds the def moved beside as `local`: as it is, or as a staticmethod."""
    source = pp.source
    info = writer.info(source.file, source.module) if source is not None and source.file is not None else None
    node = info.top_level_def(source.qualname) if info and source else None
    note = bound_as_staticmethod(binding, pp, node, writer.info(binding.site.file, binding.site.module))
    if note is None:
        return local
    if all(pp.patch.is_conditional for pp in binding.wrappers):  # else a wrapper always rebinds it as is
        writer.notes.append((pp, note))
    return f"staticmethod({local})"


def branch_chain(
    writer: InSourceWriter,
    binding: Binding,
    target: ModuleInfo,
    anchor: str,
    moved_beside: list[cst.BaseStatement],
    wrapped_ids: list[str],
    reads_original: set[str] | None,
) -> list[tuple[str, list[cst.BaseStatement]]]:
    """Each conditional replacement's condition and the statements its branch runs, in registration order; each
    def placed beside the target once (`reads_original`: see place_beside)."""
    site = binding.site
    branches, locals_ = [], []
    placed: dict[str, str] = {}  # patch_import -> its name here: one def for several branches
    for pp in binding.branches:
        probe = [pp.patch.id, *wrapped_ids]
        if pp.patch.patch_import in placed:  # the def holds the first such branch's probe
            locals_.append((pp, probe, True, placed[pp.patch.patch_import]))
            continue
        reused = pp.patch.patch_import in writer.moved  # its def holds another binding's probe
        local = place_beside(
            writer, pp, site, target, anchor, "as a branch of", moved_beside, probe, reads_original
        )
        placed[pp.patch.patch_import] = local
        locals_.append((pp, probe, reused, local))
    for pp, probe, reused, local in locals_:
        local = writer.earlier_aliases.get((site.file, local), local)  # a later def took the name
        bound = branch_bound_as(writer, binding, pp, local)
        if binding.kind is DefKind.STATICMETHOD and binding.wrappers and bound == local:
            raise CannotMove(f"{pp.patch.patch_import} is bound as a plain function over the staticmethod, "
                             "which the other branches keep: the wrappers would wrap different kinds")
        bind = [f"{site.name} = {bound}"]
        if writer.context.probes and reused:  # this branch is probed when it is chosen
            bind.append(writer.probe_call(probe))
        elif writer.context.probes:  # its code counts as this branch only where the branch was chosen
            bind.append(f"{HELPER_ALIAS}.select({pp.patch.id!r})")
        branches.append((condition_code(pp, binding.calls_read), [cst.parse_statement(line) for line in bind]))
    return branches
