"""Resolve and classify every patch of a PatchSet into a Plan. Reads source only; writes nothing."""

from __future__ import annotations

from patchmerge.conditions import parse_condition, unknown_names
from patchmerge.model import (
    Definition,
    DefKind,
    FusionKind,
    Patch,
    PatchSet,
    Plan,
    PlannedPatch,
    TargetPlan,
    Unresolved,
)
from patchmerge.plan.context import PlanContext
from patchmerge.plan.raises import clashes, exclusive, patch_key

# Targets whose routed replacement is a class-route: the router must itself be a class (subclassing,
# isinstance and class attributes keep working). A target of another kind (a module-level variable such as
# TENorm or grouped_gemm_util.ops) replaced by a class is a class-route too, decided from the patch's source in
# `_classify`: the value the name holds must be settled like a class, not called through a function router.
_CLASS_TARGET_KINDS = (DefKind.CLASS,)


def build_plan(patch_set: PatchSet, context: PlanContext) -> Plan:
    targets = [_plan_target(target, patches, context) for target, patches in patch_set.targets.items()]
    plan = Plan(root=context.root, targets=targets)
    for target_plan in plan.targets:
        if target_plan.definition is not None:
            for notes in context.hooks.plan_notes(target_plan=target_plan, context=context):
                target_plan.notes.extend(n for n in notes if n not in target_plan.notes)
    _note_shared_definitions(plan)
    _note_patched_sources(plan)
    return plan


def resolve(dotted: str, context: PlanContext) -> Definition:
    """Ask the resolver plugins; the first answer wins."""
    definition = context.hooks.resolve_target(dotted=dotted, context=context)
    if definition is None:
        raise Unresolved(dotted, "no resolver plugin could find it")
    return definition


def _plan_target(target: str, patches: list[Patch], context: PlanContext) -> TargetPlan:
    try:
        definition = resolve(target, context)
    except Unresolved as exc:
        reason = f"target does not resolve: {exc.reason}"
        return TargetPlan(target, None, [PlannedPatch(p, None, None, None, reason=reason) for p in patches])
    if definition.kind is DefKind.MODULE:
        reason = f"target is a module ({definition.file}), not an attribute a patch can replace"
        return TargetPlan(target, definition, [PlannedPatch(p, definition, None, None, reason=reason) for p in patches])
    planned = [_plan_patch(patch, definition, context) for patch in patches]
    _classify(definition, planned, context)
    return TargetPlan(target, definition, planned)


def _plan_patch(patch: Patch, target: Definition, context: PlanContext) -> PlannedPatch:
    try:
        source = resolve(patch.patch_import, context)
    except Unresolved as exc:
        return PlannedPatch(patch, target, None, None, reason=f"patch_import does not resolve: {exc.reason}")
    if source.kind in (DefKind.MISSING, DefKind.MODULE):
        what = "does not exist in the source" if source.kind is DefKind.MISSING else "is a module"
        return PlannedPatch(patch, target, source, None, reason=f"patch_import {patch.patch_import} {what}")
    for imported in patch.condition_import:
        try:
            found = resolve(imported, context)
        except Unresolved as exc:
            reason = f"condition_import does not resolve: {exc.reason}"
            return PlannedPatch(patch, target, source, None, reason=reason)
        if found.kind is DefKind.MISSING:
            return PlannedPatch(patch, target, source, None, reason=f"condition_import {imported} does not exist")
    for text in patch.condition:
        missing = unknown_names(parse_condition(text), patch.condition_import)
        if missing:
            reason = f"condition {text!r} uses {', '.join(missing)}, which no condition_import provides"
            return PlannedPatch(patch, target, source, None, reason=reason)
    return PlannedPatch(patch, target, source, None)


def is_wrapper(source: Definition | None, patch: Patch, suffixes: tuple[str, ...]) -> bool:
    """The runtime's rule: a new_func whose __name__ ends with one of the suffixes is a wrapper. When the
    source did not resolve, the patch_name the input gives is the best guess of that __name__."""
    if source is None:
        name = patch.patch_name
    else:
        name = source.name or patch.patch_import.rsplit(".", 1)[-1]
    return name.endswith(suffixes)


def _classify(target: Definition, planned: list[PlannedPatch], context: PlanContext) -> None:
    suffixes = context.profile.runtime.wrapper_suffixes
    ok = [pp for pp in planned if pp.resolved]
    # unresolved patches count too: the runtime would raise on a second replacement whatever its spelling
    _check_duplicate_replacements([pp for pp in planned if not is_wrapper(pp.source, pp.patch, suffixes)])
    replacements = [pp for pp in ok if pp.source is not None and not is_wrapper(pp.source, pp.patch, suffixes)]
    if any(not pp.resolved for pp in replacements):
        for pp in ok:
            pp.reason = pp.reason or next(r.reason for r in replacements if r.reason)
        return
    conditional = any(pp.patch.is_conditional for pp in replacements)
    if target.kind is DefKind.MISSING:
        # a name created by one patch, even under a condition, is new; several candidates need a router
        routed = len(replacements) > 1
    else:
        routed = len(replacements) > 1 or conditional
    is_class = target.kind in _CLASS_TARGET_KINDS or any(
        pp.source is not None and pp.source.kind is DefKind.CLASS for pp in replacements
    )
    for pp in ok:
        assert pp.source is not None
        if pp not in replacements:
            pp.kind = FusionKind.WRAP
            if target.kind is DefKind.MISSING and not replacements:
                pp.notes.append("wrapper on a name that does not exist yet: at runtime it wraps None")
        elif routed:
            pp.kind = FusionKind.CLASS_ROUTE if is_class else FusionKind.ROUTE
        elif target.kind is DefKind.MISSING:
            pp.kind = FusionKind.NEW
        else:
            pp.kind = FusionKind.REPLACE
        pp.notes.extend(_patch_notes(pp, target, replacements))


def _check_duplicate_replacements(replacements: list[PlannedPatch]) -> None:
    """Two unconditional replacements on one runtime Patch without force_patch (in a flattened file: in one
    phase): the runtime raises on the second and the whole adaptation stops, so no fusion of this target would
    be faithful: the target is an input error."""
    first_by_patch: dict[object, PlannedPatch] = {}
    for pp in sorted(replacements, key=lambda r: (r.patch.phase or 0, r.patch.index)):
        if pp.patch.is_conditional:
            continue
        earlier = first_by_patch.setdefault(patch_key(pp.patch) or pp.patch.phase, pp)
        if earlier is not pp and not pp.patch.force_patch:
            reason = (
                f"{pp.patch.id} ({pp.patch.patch_import}) is a second unconditional replacement after "
                f"{earlier.patch.id} ({earlier.patch.patch_import}) without force_patch: the runtime raises on it"
            )
            for other in replacements:
                other.reason = other.reason or reason
            return


def _patch_notes(pp: PlannedPatch, target: Definition, replacements: list[PlannedPatch]) -> list[str]:
    notes = [f"target: {n}" for n in target.notes] + [f"patch: {n}" for n in pp.source.notes if pp.source]
    if target.kind is DefKind.INHERITED:
        origin = target.external_base or "a base class"
        notes.append(f"member comes from {origin}, not the class body: the fusion defines it in the class")
    if target.kind is DefKind.MISSING and pp.patch.is_conditional and pp.kind is not FusionKind.WRAP:
        notes.append("new name under a condition: at runtime it does not exist when the condition is false")
    if pp in replacements and patch_key(pp.patch) is not None:  # the file says which registrations share a Patch
        notes.extend(clash.describe() for clash in clashes(replacements) if pp in (clash.later, *clash.earlier))
    elif pp in replacements:
        rivals = [
            o.patch.id
            for o in replacements
            if o is not pp
            and o.patch.phase == pp.patch.phase
            and (pp.patch.is_conditional or o.patch.is_conditional)
            and not max(o, pp, key=lambda r: r.patch.index).patch.force_patch  # the later one raises
            and not exclusive(pp.patch.condition, o.patch.condition)
        ]
        if rivals:
            notes.append(
                f"another replacement ({', '.join(rivals)}) may hold together with this one; the runtime would raise "
                "if both were registered in one collection, the fusion lets the later registration win"
            )
    return notes


def _note_shared_definitions(plan: Plan) -> None:
    """One definition patched through several targets: the runtime stacks the Patches (SPEC section 7)."""
    # The runtime rebinds every module holding the patched object under the *same name*, so a second target
    # only sees the first Patch's result when it reaches the object under that name too.
    by_definition: dict[tuple[str, str, str], list[TargetPlan]] = {}
    for tp in plan.targets:
        d = tp.definition
        if d is not None and d.kind not in (DefKind.MISSING, DefKind.MODULE):
            by_definition.setdefault((d.module, d.qualname, tp.target.rpartition(".")[2]), []).append(tp)
    for (module, qualname, _), group in by_definition.items():
        if len(group) < 2:
            continue
        names = [tp.target for tp in group]
        for tp in group:
            others = ", ".join(n for n in names if n != tp.target)
            tp.notes.append(
                f"{module}.{qualname} is also patched through {others}: at runtime each later Patch takes the "
                "earlier one's result as its original, so the patches stack in target order"
            )


def _note_patched_sources(plan: Plan) -> None:
    """A patch_import that this plan also patches: the runtime registers the object bound when the
    registration runs, before the patches of that phase apply, so it keeps the unpatched one."""
    patched: dict[tuple[str, str], list[str]] = {}
    phases: dict[tuple[str, str], set[int]] = {}
    for tp in plan.targets:
        d = tp.definition
        if d is not None and d.kind not in (DefKind.MISSING, DefKind.MODULE) and any(p.resolved for p in tp.patches):
            patched.setdefault((d.module, d.qualname), []).append(tp.target)
            phases.setdefault((d.module, d.qualname), set()).update(p.patch.phase or 0 for p in tp.patches)
    for tp in plan.targets:
        for pp in tp.patches:
            source = pp.source
            if source is None or not pp.resolved:
                continue
            others = [t for t in patched.get((source.module, source.qualname), []) if t != tp.target]
            around = phases.get((source.module, source.qualname), set())
            phase = pp.patch.phase or 0
            if others and any(p < phase for p in around) and any(p >= phase for p in around):
                # what the runtime registers is the name after the earlier phases only: no fused binding holds it
                reason = (f"patch_import {pp.patch.patch_import} is patched in phases before and after this "
                          f"registration's phase {phase}: the runtime registers it as the earlier phases left it, "
                          "which no fused definition holds")
                for other in tp.patches:
                    other.reason = other.reason or reason
                continue
            if others:
                pp.notes.append(
                    f"patch_import {pp.patch.patch_import} is itself patched by this plan (target "
                    f"{', '.join(others)}): the runtime registers the object bound at registration time (unpatched "
                    "unless an earlier phase patched it); in the fused tree the name reaches the fused definition"
                )
