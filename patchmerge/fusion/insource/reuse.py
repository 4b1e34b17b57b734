"""One replacement for several targets, in source: its def moved to the first; the others bind that object.

The runtime sets the same patch object on each target. After the move that object lives at the first target
(`FusedScaleMaskSoftmax.is_kernel_available` of `megatron.core.fusions.fused_softmax`), so a later target binds
it from there: `is_kernel_available = _fused_softmax_FusedScaleMaskSoftmax.is_kernel_available`, the home's
class (or function) imported at the module's top under a private name, where importing the home module never
imports this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from patchmerge.fusion.insource.apply import Key
from patchmerge.fusion.insource.binding import Binding
from patchmerge.fusion.insource.bodies import blank_lines
from patchmerge.fusion.insource.carry import ImportLine
from patchmerge.fusion.insource.errors import CannotMove
from patchmerge.fusion.insource.module_info import ModuleInfo

if TYPE_CHECKING:  # the writer calls this module; only its type is named here
    from patchmerge.fusion.insource.writer import InSourceWriter


def bind_reused(
    writer: InSourceWriter, binding: Binding, target: ModuleInfo, original: cst.CSTNode | None, key: Key
) -> None:
    site = binding.site
    pp = binding.replacement
    assert pp is not None
    if binding.wrappers or binding.branches:
        raise CannotMove(f"{pp.patch.patch_import} already moved for another binding")
    home, decorated = writer.moved_places[pp.patch.patch_import]
    graph = writer.context.imports
    if home.file == site.file:
        raise CannotMove(f"{pp.patch.patch_import} moved to another definition of {site.module} for another binding")
    if graph is None or graph.reaches(home.module, target.name):
        raise CannotMove(f"{pp.patch.patch_import} moved to {home.module} for another binding, and importing "
                         f"{home.module} imports {target.name}: importing it here could form a cycle")
    held = home.owner_class or home.name  # what the import binds: the home's class, or the moved function
    alias = f"_{home.module.rpartition('.')[2]}_{held}"
    line = ImportLine(home.module, held, alias)
    known = writer.file_ops(site.file).imports.get(alias)
    if target.binds(alias) or (known is None and alias in writer.file_ops(site.file).names):
        raise CannotMove(f"{target.name} already binds '{alias}', the name its import of {held} would get")
    writer.module_import(site.file, target, line)
    graph.added.setdefault(target.name, set()).add(home.module)
    if home.owner_class is None:
        reach = alias
    else:
        reach = f'vars({alias})["{home.name}"]' if decorated else f"{alias}.{home.name}"
    where = f"{home.module}.{home.owner_class + '.' if home.owner_class else ''}{home.name}"
    statements = [cst.parse_statement(f"{site.name} = {reach}  # moved to {where} for another binding")]
    if writer.context.probes:  # one def serves both: this binding counts as taken where it is bound
        statements.append(cst.parse_statement(writer.probe_call([pp.patch.id])))
        writer.file_ops(site.file).helper = True
    comment = cst.EmptyLine(comment=cst.Comment(writer.comment(pp)))
    ops = writer.file_ops(site.file)
    if original is None:
        statements[0] = statements[0].with_changes(leading_lines=[*blank_lines(site.owner_class), comment])
        ops.append.setdefault(site.owner_class, []).extend(statements)
        if site.owner_class is None:
            ops.names.add(site.name)
    else:
        leading = [line for line in original.leading_lines if line.comment is None]  # type: ignore[attr-defined]
        statements[0] = statements[0].with_changes(leading_lines=[*leading, comment])
        ops.replace[key] = statements
