"""What the registration files hold: the registrations a merge disables, and what explains a patch
that has none."""

from __future__ import annotations

import ast
import glob
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from patchmerge.collection.model import DIRECT_ASSIGNMENT
from patchmerge.fusion.registrations import Registration, RegistrationAnalysis, find_registrations
from patchmerge.fusion.texts import Texts
from patchmerge.model import PatchSet, PlannedPatch


def find_registration_files(root: Path, patterns: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        for match in sorted(glob.glob(str(root / pattern), recursive=True)):
            relative = Path(match).relative_to(root)
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


@dataclass
class Collected:
    """For a patch JSON written by `collect` (read from the provenance file beside it): where each patch was
    registered (`file:line`) and on which collection, and the registration sites collect could not read.
    Empty for any other patch file."""

    sites: dict[str, tuple[str, str]] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)

    def groups(self, computed: Sequence[str]) -> dict[str, set[str]]:
        """Computed-target registration calls (a loop over a table) -> the ids of every patch collect saw them
        register, for the calls collect read completely: such a call can be disabled once all of those are fused."""
        members: dict[str, set[str]] = {}
        known = set(computed)
        for pid, (at, _) in self.sites.items():
            if at in known and at not in self.unreadable:
                members.setdefault(at, set()).add(pid)
        return members


def collected_sites(patch_set: PatchSet) -> Collected:
    if patch_set.source is None:
        return Collected()
    sidecar = patch_set.source.with_name(patch_set.source.stem + ".provenance.json")
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        entries = data["patches"]
        sites = {pid: (f"{p['file']}:{p['line']}", str(p.get("collection", ""))) for pid, p in entries.items()}
        unreadable = {f"{u['file']}:{u['line']}" for u in data.get("unreadable", [])}
        if any(p.id not in entries or entries[p.id]["patch_import"] != p.patch_import for p in patch_set.patches):
            return Collected()  # not the provenance of these patches (the JSON was edited since): use none of it
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return Collected()
    return Collected(sites, unreadable)


def unregistered_reason(
    pp: PlannedPatch,
    registered: dict[str, list[Registration]],
    assigned: dict[str, list[str]],
    computed: Sequence[str] = (),
    collected: tuple[str, str] | None = None,
    readable: bool = True,
) -> str:
    collected_at, collection = collected or (None, None)
    if collection == DIRECT_ASSIGNMENT:
        return (
            f"applied by a plain assignment at {collected_at}, not by a registration: the adaptor keeps applying it "
            "at runtime, so it is left unfused"
        )
    if collected_at is not None and collected_at in computed:
        why = (
            "collect could not read all it registers"
            if not readable
            else "not every patch it registers can be fused"
        )
        return (
            f"registered at {collected_at} with a computed target (a loop over a table, a variable): the merge "
            f"disables such a call only when every patch it registers is fused, and {why}, so it stays a runtime patch"
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
