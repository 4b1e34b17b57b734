"""A class replaced by a class, in source: the patch's class moves in place of the original. A module value
replaced by a class (a name bound by an import or an assignment, or a new one): the class moves to the end of
the module, where it rebinds the name after all the module's own code has run, as the runtime does."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import ImportAssignment

from patchmerge.fusion.insource.apply import Key, Place
from patchmerge.fusion.insource.back_imports import back_import, import_the_original_by_its_alias
from patchmerge.fusion.insource.binding import Binding
from patchmerge.fusion.insource.bodies import blank_lines, read_at_import, refuse_reading_the_original
from patchmerge.fusion.insource.carry import is_docstring
from patchmerge.fusion.insource.errors import CannotMove
from patchmerge.fusion.insource.module_info import ModuleInfo
from patchmerge.fusion.insource.moving import move_function
from patchmerge.fusion.insource.values import check_holders
from patchmerge.fusion.sites import Site
from patchmerge.model import DefKind, PlannedPatch

if TYPE_CHECKING:  # the writer calls this module; only its type is named here
    from patchmerge.fusion.insource.writer import InSourceWriter


def plan_class(writer: InSourceWriter, binding: Binding, target: ModuleInfo, original: cst.ClassDef, key: Key) -> None:
    """A class replaced by a class: the patch's class moves in place of the original. Where it reads the
    original (`class GPTModel(MegatronGPTModel)`), the original stays and that name is bound to it between."""
    site = binding.site
    pp = binding.replacement
    assert pp is not None and pp.source is not None
    if pp.patch.patch_import in writer.moved:  # one class for several targets: the others import it
        local = writer.moved[pp.patch.patch_import][1]  # under another name: the runtime binds one class to both
        writer.bind_moved(pp, target, local, site.file, in_place=True)
        home = writer.moved_to[pp.patch.patch_import]
        alias = "" if local == site.name else f" as {site.name}"
        statement = cst.parse_statement(f"from {home} import {local}{alias}")
        comment = cst.EmptyLine(comment=cst.Comment(writer.comment(pp)))
        leading = [line for line in original.leading_lines if line.comment is None]
        writer.file_ops(site.file).replace[key] = [statement.with_changes(leading_lines=[*leading, comment])]
        return
    source = writer.source_info(pp)
    writer.origins.setdefault(site.file, set()).add(pp.source.file)  # type: ignore[arg-type]
    moved = move_function(
        source,
        pp.source.qualname,
        site.name,
        rewritable=writer.context.rewritable,
        destination=target,
        original=writer.reexports.original_names(site),
        same_import=writer.reexports.same_import,
    )
    writer.carry(pp, moved, site.file, target)
    node = _probed(writer, moved.node, pp, target, site.file)
    comment = cst.EmptyLine(comment=cst.Comment(writer.comment(pp)))
    own = [line for line in node.leading_lines if line.comment is not None]
    statements: list[cst.BaseStatement] = []
    if moved.original_aliases:
        for alias in sorted(moved.original_aliases):
            if alias == site.name or target.binds(alias) or alias in writer.file_ops(site.file).names:
                raise CannotMove(f"{target.name} already binds '{alias}', the name the patch gives the original")
            writer.file_ops(site.file).names.add(alias)
        import_the_original_by_its_alias(writer, source, pp.source.file, site, moved.original_aliases, True)
        aliases = [cst.parse_statement(f"{alias} = {site.name}") for alias in sorted(moved.original_aliases)]
        aliases[0] = aliases[0].with_changes(leading_lines=[*blank_lines(None), comment])
        statements = [original, *aliases]
        node = node.with_changes(leading_lines=[*blank_lines(None), *own])
    else:
        leading = [line for line in original.leading_lines if line.comment is None]
        node = node.with_changes(leading_lines=[*leading, comment, *own])
    statements.append(node)
    writer.file_ops(site.file).replace[key] = statements
    back_import(writer, pp, Place(site.module, None, site.name, site.file), node)


def _probed(
    writer: InSourceWriter, node: cst.FunctionDef | cst.ClassDef, pp: PlannedPatch, target: ModuleInfo, file: Path
) -> cst.FunctionDef | cst.ClassDef:
    if not writer.context.probes or not isinstance(node.body, cst.IndentedBlock):
        return node
    body = list(node.body.body)
    at = 1 if body and is_docstring(body[0]) else 0  # the class body runs once: when it is defined
    body[at:at] = [writer.probe([pp.patch.id], target)]
    following = body[at + 1] if at + 1 < len(body) else None
    if isinstance(following, cst.FunctionDef | cst.ClassDef) and not following.leading_lines:
        # a def after it, one blank line above as PEP 8 has it (no indentation on the blank line)
        body[at + 1] = following.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
    writer.file_ops(file).helper = True
    return node.with_changes(body=node.body.with_changes(body=body))


def plan_value(writer: InSourceWriter, binding: Binding, target: ModuleInfo) -> None:
    """A module value replaced by a class (or a def the module's own code calls as it loads, replaced by a
    def): the patch moves to the end of the module under its own name, and binds the target's name there.
    Module-level code above reads what the module bound, as it does at runtime, which rebinds the name once the
    module is imported."""
    site = binding.site
    pp = binding.replacement
    assert pp is not None and pp.source is not None
    ops = writer.file_ops(site.file)
    comment = cst.EmptyLine(comment=cst.Comment(writer.comment(pp)))
    name = pp.source.qualname
    if pp.patch.patch_import in writer.moved:  # one class for several targets: the others import it
        home, local = writer.moved_to[pp.patch.patch_import], writer.moved[pp.patch.patch_import][1]
        writer.bind_moved(pp, target, local, site.file, in_place=True)
        alias = "" if local == site.name else f" as {site.name}"
        statement = cst.parse_statement(f"from {home} import {local}{alias}")
        ops.append.setdefault(None, []).append(statement.with_changes(leading_lines=[*blank_lines(None), comment]))
        check_holders(writer, binding)
        return
    if name != site.name and (target.binds(name) or name in ops.names or name in ops.imports):
        raise CannotMove(f"{target.name} already binds '{name}', the name of {pp.patch.patch_import}")
    source = writer.source_info(pp)
    writer.origins.setdefault(site.file, set()).add(pp.source.file)  # type: ignore[arg-type]
    moved = move_function(
        source,
        name,
        name,
        rewritable=writer.context.rewritable,
        destination=target,
        original=writer.reexports.original_names(site),
        same_import=writer.reexports.same_import,
    )
    if moved.original_aliases:
        raise CannotMove(f"{pp.patch.patch_import} reads the {site.name} it replaces when it is defined")
    refuse_reading_the_original(moved, binding, writer.reexports.original_names(site, moved.reads))
    writer.carry(pp, moved, site.file, target)
    node = _probed(writer, moved.node, pp, target, site.file)
    own = [line for line in node.leading_lines if line.comment is not None]
    node = node.with_changes(leading_lines=[*blank_lines(None), comment, *own])
    statements: list[cst.BaseStatement] = [node]
    if name != site.name:
        statements.append(cst.parse_statement(f"{site.name} = {name}").with_changes(leading_lines=blank_lines(None)))
    ops.append.setdefault(None, []).extend(statements)
    ops.names.update({name, site.name})
    back_import(writer, pp, Place(site.module, None, name, site.file), node)
    if binding.kind in (DefKind.VARIABLE, DefKind.MISSING):  # the runtime rebinds it in other modules too
        check_holders(writer, binding)


def refuse_other_holders(writer: InSourceWriter, importer: Site) -> None:
    """A class fused where it is defined for a module that imports it: that module binds it by plain
    top-level imports and nothing else of it reads it as it loads (`LayerNormImpl = TENorm` keeps the
    original at runtime, which patches after), else the binding falls back."""
    info = writer.info(importer.file, importer.module, importer.file.name == "__init__.py")
    imports = [
        statement for statement in info.module.body
        if isinstance(statement, cst.SimpleStatementLine)
        and any(isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body)
    ]
    nodes = {id(small) for statement in imports for small in statement.body}
    bindings = info.global_bindings(importer.name)
    if not all(isinstance(b, ImportAssignment) and id(b.node) in nodes for b in bindings):
        raise CannotMove(f"{importer.module} binds {importer.name} otherwise than by a plain import at its top")
    rest = [statement for statement in info.module.body if not any(statement is i for i in imports)]
    if read_at_import(rest, importer.name, None, writer.import_time_reads):
        raise CannotMove(f"{importer.module}'s module-level code reads {importer.name} when it runs; the "
                         "runtime patches after that")
