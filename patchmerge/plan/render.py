"""A plan for people (text) and for scripts (the JSON of SPEC section 9)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import inflection

from patchmerge.model import Definition, PatchSet, Plan, PlannedPatch


def _where(definition: Definition | None) -> str:
    if definition is None:
        return "?"
    if definition.file is None:
        return f"{definition.module}.{definition.qualname} (outside the source roots)"
    line = f":{definition.line}" if definition.line else ""
    return f"{definition.file}{line} {definition.qualname} ({definition.kind})"


def plan_to_text(plan: Plan, patch_set: PatchSet, *, seconds: float | None = None) -> str:
    lines: list[str] = []
    for tp in plan.targets:
        lines.append(f"{tp.target}")
        lines.append(f"    at {_where(tp.definition)}")
        if tp.definition is not None and tp.definition.via:
            lines.append(f"    via {' -> '.join(tp.definition.via)}")
        for note in tp.notes:
            lines.append(f"    note: {note}")
        for pp in tp.patches:
            condition = " and ".join(pp.patch.condition) or "always"
            kind = pp.kind.value if pp.kind else "UNRESOLVED"
            lines.append(f"  #{pp.patch.index} {kind:<11} {pp.patch.patch_import}  [if {condition}]")
            if pp.resolved:
                lines.append(f"      from {_where(pp.source)}")
            else:
                lines.append(f"      reason: {pp.reason}")
            lines.extend(f"      note: {note}" for note in pp.notes)
    lines.append("")
    lines.append(summary_line(plan, seconds))
    unresolved = [pp for pp in plan.patches if not pp.resolved]
    if unresolved:
        lines.append("unresolved:")
        lines.extend(f"  {pp.patch.id}  {pp.patch.patch_import}: {pp.reason}" for pp in unresolved)
    return "\n".join(lines)


def counted(number: int, noun: str) -> str:
    return f"{number} {noun if number == 1 else inflection.pluralize(noun)}"


def summary_line(plan: Plan, seconds: float | None = None) -> str:
    patches = plan.patches
    resolved = [pp for pp in patches if pp.resolved]
    kinds = Counter(pp.kind.value for pp in resolved if pp.kind)
    by_kind = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
    took = f" in {seconds:.2f}s" if seconds is not None else ""
    return (
        f"{counted(len(patches), 'patch')} on {counted(len(plan.targets), 'target')}: {len(resolved)} resolved, "
        f"{len(patches) - len(resolved)} unresolved ({by_kind}){took}"
    )


def _definition_json(definition: Definition | None) -> dict[str, Any] | None:
    if definition is None:
        return None
    return {
        "module": definition.module,
        "qualname": definition.qualname,
        "kind": definition.kind.value,
        "file": str(definition.file) if definition.file else None,
        "line": definition.line,
        "via": list(definition.via),
    }


def _patch_json(pp: PlannedPatch, target_notes: list[str]) -> dict[str, Any]:
    return {
        "id": pp.patch.id,
        "target": pp.patch.target,
        "patch_import": pp.patch.patch_import,
        "condition": list(pp.patch.condition),
        "kind": pp.kind.value if pp.kind else None,
        "target_file": str(pp.target.file) if pp.target and pp.target.file else None,
        "patch_file": str(pp.source.file) if pp.source and pp.source.file else None,
        "target_definition": _definition_json(pp.target),
        "patch_definition": _definition_json(pp.source),
        "notes": target_notes + pp.notes,
    }


def plan_to_json(plan: Plan, patch_set: PatchSet) -> dict[str, Any]:
    patches = plan.patches
    resolved = [pp for pp in patches if pp.resolved]
    return {
        "patch_file": str(patch_set.source) if patch_set.source else None,
        "targets_total": len(plan.targets),
        "patches_total": len(patches),
        "patches_resolved": len(resolved),
        "by_kind": dict(Counter(pp.kind.value for pp in resolved if pp.kind)),
        "patches": [_patch_json(pp, tp.notes) for tp in plan.targets for pp in tp.patches if pp.resolved],
        "unresolved": [
            {"id": pp.patch.id, "target": pp.patch.target, "patch_import": pp.patch.patch_import, "reason": pp.reason}
            for pp in patches
            if not pp.resolved
        ],
    }
