"""Built-in fidelity notes (SPEC section 3.9): where fusing in source can differ from patching at runtime."""

from __future__ import annotations

from patchmerge.hookspecs import hookimpl
from patchmerge.model import DefKind, FusionKind, TargetPlan
from patchmerge.planning.context import PlanContext
from patchmerge.planning.static_resolution import static_resolver

_REPLACING = (FusionKind.REPLACE, FusionKind.ROUTE, FusionKind.CLASS_ROUTE)


@hookimpl
def plan_notes(target_plan: TargetPlan, context: PlanContext) -> list[str]:
    definition = target_plan.definition
    if definition is None or definition.kind in (DefKind.MISSING, DefKind.INHERITED) or definition.owner_class:
        return []
    resolver = static_resolver(context)
    notes: list[str] = []
    kinds = {pp.kind for pp in target_plan.patches if pp.resolved}
    name = definition.qualname.rsplit(".", 1)[-1]
    if definition.kind is DefKind.CLASS and kinds & set(_REPLACING):
        subclasses = resolver.subclasses_of(definition.module, definition.qualname)
        if subclasses:
            listed = ", ".join(f"{m}.{q}" for m, q in subclasses[:5]) + (" ..." if len(subclasses) > 5 else "")
            notes.append(
                f"replaced class has subclasses in the tree ({listed}): at runtime they keep the original base "
                "when defined before patching; in the fused tree they derive from the fused class"
            )
    renamed = [
        site
        for site in resolver.importers_of(definition.module, name)
        if site.local_name != name and not site.in_function
    ]
    if renamed and kinds:
        listed = ", ".join(f"{s.module} as {s.local_name}" for s in renamed[:5])
        notes.append(
            f"imported under another name ({listed}): the runtime does not rebind such aliases, the fused "
            "definition reaches them too"
        )
    return notes
