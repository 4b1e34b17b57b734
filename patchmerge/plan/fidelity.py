"""Built-in fidelity notes (SPEC section 3.9): where fusing in source can differ from patching at runtime."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from patchmerge.hookspecs import hookimpl
from patchmerge.model import Definition, DefKind, FusionKind, TargetPlan, Unresolved
from patchmerge.plan.context import PlanContext
from patchmerge.plan.static_resolution import static_resolver
from patchmerge.resolution.resolver import StaticResolver
from patchmerge.resolution.scan import CaptureSite, ImportSite
from patchmerge.source.tree import SourceError

_REPLACING = (FusionKind.REPLACE, FusionKind.ROUTE, FusionKind.CLASS_ROUTE)
_LISTED = 5  # sites named in one note
T = TypeVar("T")


@hookimpl
def plan_notes(target_plan: TargetPlan, context: PlanContext) -> list[str]:
    definition = target_plan.definition
    if definition is None or definition.kind in (DefKind.MISSING, DefKind.INHERITED) or definition.owner_class:
        return []
    kinds = {pp.kind for pp in target_plan.patches if pp.resolved}
    if not kinds:
        return []
    sources = [pp.source for pp in target_plan.patches if pp.resolved and pp.source is not None]
    if definition.kind in (DefKind.CLASS, DefKind.VARIABLE) or any(s.kind is DefKind.CLASS for s in sources):
        # Classes and values are fused to settle when the args are set, as the runtime patches them at
        # adaptation: subclasses, aliases and references taken at import time keep the original in both.
        return []
    resolver = static_resolver(context)
    patch_modules = {s.module for s in sources}
    name = definition.qualname.rsplit(".", 1)[-1]
    runtime_name = target_plan.target.rpartition(".")[2]  # the name the runtime rebinds in every module
    aliases = [
        site
        for site in _safe(lambda: resolver.scan.importers_of(definition.module, name, transitive=True))
        if site.local_name != runtime_name and not site.in_function
    ]
    own = [s for s in aliases if s.module in patch_modules]
    notes: list[str] = []
    if definition.kind is DefKind.CLASS and kinds & set(_REPLACING):
        notes += _subclass_notes(resolver, definition, sources, own)
    notes += _alias_notes(aliases, own)
    # the fused block comes after all of the defining module's own code, which so keeps the original too
    captures = [
        c for c in _safe(lambda: resolver.scan.captures_of(definition.module, name)) if c.module != definition.module
    ]
    notes += _capture_notes(captures, patch_modules, _imported_first(target_plan.target, definition))
    return notes


def _safe(ask: Callable[[], list[T]]) -> list[T]:
    """A tree-wide question whose answer is only a note: a name that does not resolve has no sites."""
    try:
        return ask()
    except (Unresolved, SourceError):
        return []


def _subclass_notes(
    resolver: StaticResolver, definition: Definition, sources: list[Definition], own: list[ImportSite]
) -> list[str]:
    patch_classes = {(s.module, s.qualname) for s in sources if s.kind is DefKind.CLASS}
    subclasses = _safe(lambda: resolver.scan.subclasses_of(definition.module, definition.qualname))
    inheriting = [c for c in subclasses if c in patch_classes]
    others = [c for c in subclasses if c not in patch_classes]
    notes: list[str] = []
    if others:
        listed = ", ".join(f"{m}.{q}" for m, q in others[:_LISTED]) + (" ..." if len(others) > _LISTED else "")
        notes.append(
            f"replaced class has subclasses in the tree ({listed}): at runtime they keep the original base "
            "when defined before patching; in the fused tree they derive from the fused class"
        )
    for module, qualname in inheriting:
        under = [s.local_name for s in own if s.module == module]
        how = f"under an alias ({', '.join(under)})" if under else "under its original name"
        notes.append(
            f"the patch class inherits the original {how}: {module}.{qualname} needs the original class as its "
            "base, so the fusion must keep it reachable"
        )
    return notes


def _alias_notes(aliases: list[ImportSite], own: list[ImportSite]) -> list[str]:
    notes = [
        f"the patch reaches the original through alias {s.local_name} ({s.module}): the fusion must keep the "
        "original reachable under that alias"
        for s in own
    ]
    renamed = [s for s in aliases if s not in own]
    if renamed:
        listed = ", ".join(f"{s.module} as {s.local_name}" for s in renamed[:_LISTED])
        more = " ..." if len(renamed) > _LISTED else ""
        notes.append(
            f"imported under another name ({listed}{more}): the runtime does not rebind such aliases, the fused "
            "definition reaches them too"
        )
    return notes


def _imported_first(target: str, definition: Definition) -> set[str]:
    """Modules the patcher imports before it patches: the target's module, the defining one, the hops."""
    return {target.rpartition(".")[0], definition.module} | {v.rpartition(".")[0] for v in definition.via}


def _capture_notes(captures: list[CaptureSite], patch_modules: set[str], early: set[str]) -> list[str]:
    notes: list[str] = []
    for c in (c for c in captures if c.simple):
        where = f"`{c.text}` in {c.module} (line {c.line})"
        if c.module in patch_modules:
            notes.append(
                f"the patch keeps the original as {c.bound} at import time ({where}): the fusion must keep the "
                "original reachable under that name"
            )
        else:
            when = (
                f"the runtime leaves {c.bound} as the original (the module is imported before patching)"
                if c.module in early
                else f"at runtime {c.bound} keeps the original when {c.module} is imported before patching"
            )
            notes.append(
                f"{where} captures it at import time: {when}; in the fused tree {c.bound} gets the fused definition"
            )
    used = [c for c in captures if not c.simple]
    if used:
        listed = ", ".join(f"`{c.text}` in {c.module} (line {c.line})" for c in used[:_LISTED])
        more = " ..." if len(used) > _LISTED else ""
        always = sorted({c.module for c in used} & early)
        certain = f" ({', '.join(always)} always is)" if always else ""
        notes.append(
            f"used at import time by {listed}{more}: at runtime these values are built with the original when "
            f"their module is imported before patching{certain}; in the fused tree with the fused definition"
        )
    return notes
