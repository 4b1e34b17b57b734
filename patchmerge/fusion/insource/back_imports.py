"""The patch module imports each moved definition back from its new place (SPEC 3.4): one definition, one
object, so MindSpeed code that uses the name directly gets what Megatron now holds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import ImportAssignment

from patchmerge.fusion.insource.apply import COMMENT, Key, Place
from patchmerge.fusion.insource.bodies import bound_above
from patchmerge.fusion.insource.carry import ImportLine
from patchmerge.fusion.insource.errors import CannotMove
from patchmerge.fusion.insource.module_info import ModuleInfo
from patchmerge.fusion.insource.moving import bound_alike
from patchmerge.fusion.sites import Site
from patchmerge.model import PlannedPatch

if TYPE_CHECKING:  # the writer calls this module; only its type is named here
    from patchmerge.fusion.insource.writer import InSourceWriter


def back_import(
    writer: InSourceWriter, pp: PlannedPatch, place: Place, node: cst.FunctionDef | cst.ClassDef
) -> None:
    """The patch module imports the moved def back from its new place: one definition, one object."""
    source = pp.source
    assert source is not None and source.file is not None
    info = writer.info(source.file, source.module)
    name = source.qualname
    key: Key = (None, name)
    writer.locate(source.file, key)
    module, owner, target_name = place.module, place.owner_class, place.name
    where = f"{module}.{owner + '.' if owner else ''}{target_name}"
    graph = writer.context.imports
    early = writer.context.early
    if source.module in early and module not in early:
        raise CannotMove(f"{source.module} would import {module} to take {name} back, which the modules the "
                         "adaptor imports before it patches never import: Megatron would load before the adaptor's "
                         "pre-patches run (MindSpeed-LLM installs its library stand-ins then)")
    if graph is not None and (problem := graph.new_import_fails(
            source.module, module, installed=writer.context.installed)):
        raise CannotMove(f"{source.module} would import {module} to take {name} back, which it never imported, "
                         f"and there that import can fail: {problem}")
    if graph is not None and graph.reaches_through_added(module, source.module):
        # a Megatron module imports a patch module only where this merge binds a class it keeps (a branch)
        raise CannotMove(f"{source.module} would import {module} to take {name} back, and importing {module} "
                         f"imports {source.module}: a cycle")
    if graph is not None:
        graph.added.setdefault(source.module, set()).add(module)
    comment = cst.EmptyLine(comment=cst.Comment(f"{COMMENT} {name} moved to {where}"))
    if owner is None:
        alias = "" if name == target_name else f" as {name}"
        lines = [f"from {module} import {target_name}{alias}"]
    else:
        line = ImportLine(module, owner)
        bindings = info.global_bindings(owner)
        if bindings and not bound_alike(info, line):
            raise CannotMove(f"{source.module} binds '{owner}' to something else, so it cannot import {where}")
        added = writer.file_ops(source.file).back_imports
        if owner in added and added[owner] != line:
            raise CannotMove(f"{source.module} would get '{owner}' from two modules")
        added[owner] = line
        # each back-import binds the class itself unless the module imported it above the def already
        lines = [] if bound_above(info, owner, name) else [f"from {module} import {owner}"]
        reach = f"{owner}.{target_name}" if not node.decorators else f'vars({owner})["{target_name}"]'
        lines.append(f"{name} = {reach}")
    statements = [cst.parse_statement(text) for text in lines]
    original = info.top_level_def(name) or info.top_level_class(name)
    leading = list(original.leading_lines) if original is not None else []
    blank = [line for line in leading if line.comment is None]
    statements[0] = statements[0].with_changes(leading_lines=[*blank, comment])
    if owner is not None and len(statements) == 2:
        writer.file_ops(source.file).class_imports.add(id(statements[0]))
    writer.file_ops(source.file).replace[key] = statements
    writer.moved[pp.patch.patch_import] = (place.file, target_name)
    writer.moved_to[pp.patch.patch_import] = place.module
    writer.moved_places[pp.patch.patch_import] = (place, bool(node.decorators))


def import_the_original_by_its_alias(
    writer: InSourceWriter, info: ModuleInfo, file: Path, site: Site, aliases: set[str], from_target: bool = False
) -> None:
    """The patch module's `from m import f as megatron_f` keeps the original at run time (the runtime rebinds
    only holders of the same name); in source, the target's module binds `megatron_f` to the original, so the
    import takes that: from m itself, or with `from_target` (m may be a package re-exporting f) from the
    target's module."""
    for alias in aliases:
        bindings = info.global_bindings(alias)
        statement = bindings[0].node if len(bindings) == 1 and isinstance(bindings[0], ImportAssignment) else None
        if not isinstance(statement, cst.ImportFrom) or statement.relative:
            raise CannotMove(f"{info.name} binds '{alias}' otherwise than by one absolute import of the original")
        # through a package that re-exports it: the alias is bound in the target's module
        elsewhere = from_target or get_full_name_for_node(statement.module) != site.module
        if elsewhere and isinstance(statement.names, Sequence) and len(statement.names) > 1:
            raise CannotMove(f"{info.name} imports '{alias}' with other names in one statement; it would import "
                             f"it from {site.module}, where the original is kept under that name")
        renamed = writer.file_ops(file).renamed_imports.setdefault(id(statement), {})
        renamed[alias] = site.module if elsewhere else None
