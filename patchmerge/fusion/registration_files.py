"""What the registration files hold: the registrations a merge disables, and what explains a patch
that has none."""

from __future__ import annotations

import ast
import glob
import json
from collections.abc import Sequence
from pathlib import Path

from patchmerge.collect.model import DIRECT_ASSIGNMENT
from patchmerge.fusion.registrations import Registration, RegistrationAnalysis, find_registrations
from patchmerge.fusion.texts import Texts
from patchmerge.model import PatchSet, PlannedPatch
from patchmerge.session import Session


def find_registration_files(session: Session) -> list[Path]:
    found: list[Path] = []
    for pattern in session.profile.registrations.files:
        for match in sorted(glob.glob(str(session.root / pattern), recursive=True)):
            relative = Path(match).relative_to(session.root)
            if relative.suffix == ".py" and relative not in found:
                found.append(relative)
    return found


def registrations_by_target(analyses: dict[Path, RegistrationAnalysis]) -> dict[str, list[Registration]]:
    found: dict[str, list[Registration]] = {}
    for path, analysis in analyses.items():
        for registration in find_registrations("", path, "", (), analysis=analysis):
            found.setdefault(registration.target, []).append(registration)
    return found


def assignments(files: list[Path], texts: Texts) -> dict[str, list[str]]:
    """`Owner.name = ...` statements in the registration files, keyed by "Owner.name": patches applied by
    plain assignment rather than a registration, which a merge leaves to the adaptor."""
    found: dict[str, list[str]] = {}
    for path in files:
        try:
            tree = ast.parse(texts.read(path))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                        found.setdefault(f"{target.value.id}.{target.attr}", []).append(f"{path}:{node.lineno}")
    return found


def computed_registrations(analyses: dict[Path, RegistrationAnalysis]) -> list[str]:
    """`file:line` of each registration whose target is not a literal, in file order."""
    return [f"{path}:{line}" for path, analysis in analyses.items() for line in analysis.computed]


def collected_sites(patch_set: PatchSet) -> dict[str, tuple[str, str]]:
    """For a patch JSON written by `collect`, where each patch was registered (`file:line`) and on which
    collection, from the provenance file beside it; empty for any other patch file."""
    if patch_set.source is None:
        return {}
    sidecar = patch_set.source.with_name(patch_set.source.stem + ".provenance.json")
    try:
        patches = json.loads(sidecar.read_text(encoding="utf-8")).get("patches", {})
        return {pid: (f"{p['file']}:{p['line']}", str(p.get("collection", ""))) for pid, p in patches.items()}
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return {}


def unregistered_reason(
    pp: PlannedPatch,
    registered: dict[str, list[Registration]],
    assigned: dict[str, list[str]],
    computed: Sequence[str] = (),
    collected: tuple[str, str] | None = None,
) -> str:
    collected_at, collection = collected or (None, None)
    if collection == DIRECT_ASSIGNMENT:
        return (
            f"applied by a plain assignment at {collected_at}, not by a registration: the adaptor keeps applying it "
            "at runtime, so it is left unfused"
        )
    if collected_at is not None and collected_at in computed:
        return (
            f"registered at {collected_at} with a computed target (a loop over a table, a variable), which the merge "
            "cannot disable one entry of, so it stays a runtime patch"
        )
    others = registered.get(pp.patch.target, [])
    if not others:
        places = assigned.get(".".join(pp.patch.target.split(".")[-2:]), [])
        if places:
            return (
                f"applied by a plain assignment at {', '.join(places[:2])}, not by a registration: the adaptor keeps "
                "applying it at runtime, so it is left unfused"
            )
        if computed:
            return (
                f"no registration with this literal target in the registration files; {len(computed)} registration(s) "
                f"there take a computed target (first at {computed[0]}: a loop over a table, a variable), which the "
                "merge cannot disable one entry of, so it stays a runtime patch"
            )
        return "no registration of this target in the profile's registration files (registrations.files)"
    listed = "; ".join(f"{r.file}:{r.line} registers {r.patch_import or r.local_name}" for r in others[:3])
    maybe = (
        f", or it is registered through one of the {len(computed)} computed targets (first at {computed[0]}), "
        "which the merge cannot disable one entry of"
        if computed
        else ""
    )
    wrong = "the patch JSON may name the wrong one"
    return f"no registration of this patch_import for this target ({listed}): {wrong}{maybe}"
