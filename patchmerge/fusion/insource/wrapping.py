"""A binding's wrappers, written after its def (or its branches): `name = wrapper(name)` in registration order,
the first registered innermost, each conditional one under its condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from patchmerge.fusion.insource.beside import place_beside
from patchmerge.fusion.insource.binding import Binding
from patchmerge.fusion.insource.branches import condition_code, grouped, if_chain, wrapper_conditions
from patchmerge.fusion.insource.module_info import ModuleInfo
from patchmerge.model import DefKind

if TYPE_CHECKING:  # the writer calls this module; only its type is named here
    from patchmerge.fusion.insource.writer import InSourceWriter


def wrap_statements(
    writer: InSourceWriter, binding: Binding, target: ModuleInfo, anchor: str, moved_beside: list[cst.BaseStatement]
) -> list[cst.BaseStatement]:
    """The statements that apply the binding's wrappers; their defs move beside the target (`moved_beside`)."""
    site = binding.site
    wrappings = wrapper_conditions(binding.wrappers, writer.context.semantics, binding.calls_read)
    statements: list[cst.BaseStatement] = []
    wrapped = site.name
    unwrapped = binding.branches or all(condition is not None for _, condition in wrappings)
    if binding.kind is DefKind.STATICMETHOD and wrappings and unwrapped:
        # the def (each branch too) stays a staticmethod unless a wrapper applies: a wrapper wraps the function a
        # lookup returns, and the runtime binds what it returns as it is
        if len(wrappings) == 1:
            wrapped = f"{site.name}.__func__"
        else:
            # where any wrapper applies: any of their registrations' conditions holds (from 2.2.0 a wrapper
            # registered twice applies once, under either)
            unwrap = cst.parse_statement(f"{site.name} = {site.name}.__func__")
            conditions = [condition_code(pp, binding.calls_read) if pp.patch.is_conditional else None
                          for pp in binding.wrappers]
            if None in conditions:
                statements.append(unwrap)
            else:
                applies = " or ".join(grouped(c) for c in dict.fromkeys(conditions) if c)
                statements.append(if_chain([(applies, [unwrap])], None))
    for pp, condition in wrappings:
        local = place_beside(writer, pp, site, target, anchor, "to wrap", moved_beside, None)
        wrap = [f"{site.name} = {local}({wrapped})"]
        if condition is not None:
            if writer.context.probes:  # the wrapper's own code runs as it is applied
                wrap.append(writer.probe_call([pp.patch.id]))
            statements.append(if_chain([(condition, [cst.parse_statement(w) for w in wrap])], None))
        else:
            statements.append(cst.parse_statement(wrap[0]))
    return statements
