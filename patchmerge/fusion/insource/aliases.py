"""A function replaced by another def of its own module (MindSpeed-LLM registers Megatron's
`get_gpt_layer_local_spec` as `get_gpt_layer_with_transformer_engine_spec`): its def leaves the source and the
name is bound to that def right after it, before any wrapper of that def applies. The runtime registered the
object bound before patching, so the name keeps Megatron's def even where the def's own name is wrapped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from patchmerge.fusion.insource.apply import Key
from patchmerge.fusion.insource.binding import Binding
from patchmerge.fusion.insource.bodies import blank_lines, single_def
from patchmerge.fusion.insource.errors import CannotMove
from patchmerge.fusion.insource.module_info import ModuleInfo

if TYPE_CHECKING:  # the writer calls this module; only its type is named here
    from patchmerge.fusion.insource.writer import InSourceWriter


def plan_alias(writer: InSourceWriter, binding: Binding, target: ModuleInfo, original: cst.CSTNode, key: Key) -> None:
    """The target's def goes; its name is bound to the other def right after that def, with its probe there."""
    site = binding.site
    pp = binding.replacement
    assert pp is not None and pp.source is not None
    name = pp.source.qualname
    if not isinstance(original, cst.FunctionDef):
        raise CannotMove(f"{site.name} is not one plain def in {site.module}")
    if not isinstance(single_def(target.module.body, name, False, False), cst.FunctionDef):
        raise CannotMove(f"{name} is not one plain def in {site.module}")
    ops = writer.file_ops(site.file)
    comment = cst.EmptyLine(comment=cst.Comment(f"{writer.comment(pp)}: Megatron's def, as registered"))
    statement = cst.parse_statement(f"{site.name} = {name}").with_changes(leading_lines=[*blank_lines(None), comment])
    ops.after_def.setdefault(name, []).append(statement)
    ops.replace[key] = []
    if writer.context.probes:  # the def runs as this binding too: its first run counts for it
        ops.def_probes.setdefault(name, []).append(writer.probe([pp.patch.id], target))
        ops.helper = True
