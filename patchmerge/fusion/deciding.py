"""The merge's first stages: which sites can be fused, and their registrations disabled.

Each stage returns what the next needs; each patch's outcome is settled in `Outcomes` as the stages go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from patchmerge.fusion.model import Outcome, Outcomes
from patchmerge.fusion.registration_files import (
    Collected,
    assignments,
    computed_registrations,
    find_registration_files,
    registrations_by_target,
    unregistered_reason,
)
from patchmerge.fusion.registrations import (
    COMPUTED_TARGET,
    Registration,
    RegistrationAnalysis,
    analyse,
    disable_registrations,
)
from patchmerge.fusion.sites import Site, group_sites
from patchmerge.fusion.texts import Texts
from patchmerge.model import DefKind, Plan, PlannedPatch
from patchmerge.profile import Profile
from patchmerge.source.modules import module_of_path
from patchmerge.source.tree import SourceTree


def sites_to_fuse(plan: Plan, tree: SourceTree, outcomes: Outcomes) -> list[Site]:
    """Every binding the plan reaches, as sites; the patches of those that cannot have one are failed."""
    for pp in plan.patches:
        if not pp.resolved:
            outcomes.settle(pp, Outcome.FAILED, pp.reason)
    sites, site_failures = group_sites(plan.targets, tree)
    for tp in plan.targets:
        if tp.target in site_failures:
            for pp in tp.patches:
                outcomes.settle(pp, Outcome.FAILED, site_failures[tp.target])
    for site, reason in _replaced_with_members(sites):
        sites.remove(site)
        for pp in site.patches:
            outcomes.settle(pp, Outcome.FAILED, reason)
    return sites


@dataclass
class RegistrationIndex:
    """The registrations of the profile's registration files, read once."""

    analyses: dict[Path, RegistrationAnalysis]
    registered: dict[str, list[Registration]]
    assigned: dict[str, list[str]]
    computed: list[str]
    collected: Collected
    groups: dict[str, set[str]]  # loop registrations -> the patch ids each registers

    def registered_at(self, pp: PlannedPatch) -> str:
        """Where the patch was registered, for the comment on its fused definition."""
        for registration in self.registered.get(pp.patch.target, []):
            if registration.patch_import == pp.patch.patch_import:
                return f"{registration.file.as_posix()}:{registration.line}"
        at = self.collected.sites.get(pp.patch.id)
        return f"{at[0]}:{at[1]}" if at else "registration not found"


def read_registrations(root: Path, profile: Profile, texts: Texts, collected: Collected | None) -> RegistrationIndex:
    files = find_registration_files(root, profile.registrations.files)
    roots, calls = profile.sources.roots, profile.registrations.calls
    analyses = {path: analyse(texts.read(path), path, module_of_path(path, roots) or "", calls) for path in files}
    computed = computed_registrations(analyses)
    collected = collected or Collected()
    return RegistrationIndex(
        analyses,
        registrations_by_target(analyses),
        assignments(files, texts),
        computed,
        collected,
        collected.groups(computed),
    )


@dataclass
class Decision:
    candidates: list[Site]
    loops: set[str]  # loop registrations that can go: everything they register is fused


def decide(sites: list[Site], texts: Texts, index: RegistrationIndex, outcomes: Outcomes) -> Decision:
    """The sites that can be fused: each whole, its every patch resolved and registered where it can be
    disabled; a loop registration goes only when all it registers is fused (else its sites stay too)."""
    loops = set(index.groups)
    while True:
        covered = {pid for group in loops for pid in index.groups[group]}
        candidates: list[Site] = []
        for site in sites:
            decision = _decide(site, texts, index, covered)
            if decision is None:
                candidates.append(site)
                continue
            for pp, outcome, reason in decision:
                outcomes.settle(pp, outcome, reason)
        bad = {group for group in loops if not index.groups[group] <= _ids(candidates)}
        if not bad:
            return Decision(candidates, loops)
        loops -= bad


@dataclass
class Disabled:
    candidates: list[Site]  # those whose every registration could be disabled
    texts: dict[Path, str] = field(default_factory=dict)  # the registration files' new texts
    places: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (target, patch) -> file:line


def disable(decision: Decision, index: RegistrationIndex, texts: Texts, profile: Profile,
            outcomes: Outcomes) -> Disabled:
    """Disable the registrations of the candidates; a site whose registration cannot be disabled is not fused."""
    candidates = list(decision.candidates)
    while True:
        pairs = {(pp.patch.target, pp.patch.patch_import) for site in candidates for pp in site.patches}
        ids = _ids(candidates)
        lines = _lines_by_file({group for group in decision.loops if index.groups[group] <= ids})
        disabled: set[tuple[str, str]] = set()
        disabled_groups: set[str] = set()
        result = Disabled(candidates)
        for path, analysis in index.analyses.items():
            source = texts.read(path)
            wanted = lines.get(path.as_posix(), set())
            if not wanted and not any((r.target, r.patch_import) in pairs for _, r in analysis.registrations.values()):
                continue
            new, regs = disable_registrations(
                source,
                path,
                module_of_path(path, profile.sources.roots) or "",
                profile.registrations.calls,
                pairs,
                analysis=analysis,
                computed_lines=wanted,
            )
            disabled |= {(r.target, r.patch_import) for r in regs if r.patch_import}
            disabled_groups |= {f"{r.file.as_posix()}:{r.line}" for r in regs if r.target == COMPUTED_TARGET}
            for r in regs:
                if r.target != COMPUTED_TARGET:
                    result.places.setdefault((r.target, r.patch_import or ""), []).append(f"{r.file}:{r.line}")
            if new != source:
                result.texts[path] = new
        gone = {pid for group in disabled_groups for pid in index.groups[group]}
        blocked = [
            site
            for site in candidates
            if any((pp.patch.target, pp.patch.patch_import) not in disabled and pp.patch.id not in gone
                   for pp in site.patches)
        ]
        if not blocked:
            for path, new in result.texts.items():
                texts.write(path, new)
            return result
        for site in blocked:
            candidates.remove(site)
            for pp in site.patches:
                reason = "its registration could not be disabled (not a plain call statement)"
                done = (pp.patch.target, pp.patch.patch_import) in disabled or pp.patch.id in gone
                outcomes.settle(pp, Outcome.SKIPPED if done else Outcome.FAILED, reason)


def _decide(
    site: Site,
    texts: Texts,
    index: RegistrationIndex,
    covered: set[str],
) -> list[tuple[PlannedPatch, Outcome, str | None]] | None:
    """None when the site can be fused; else the outcome of each of its patches. A site is fused whole or not
    at all: a registration left active on top of a partly fused chain would change what runs."""
    everything = [pp for tp in site.targets for pp in tp.patches]
    done = set(texts.fused_pairs(site.file))
    # an in-source wrapper rebinds the def's name (`f = f_wrapper(f)`), so a merged tree may resolve the
    # target as a value fused elsewhere: what was fused at the definition counts too
    for tp in site.targets:
        if tp.definition is not None and tp.definition.file is not None and tp.definition.file != site.file:
            done |= texts.fused_pairs(tp.definition.file)
    pairs = [(pp.patch.target, pp.patch.patch_import) for pp in everything]
    if pairs and all(pair in done for pair in pairs):
        return [(pp, Outcome.ALREADY_FUSED, "fused by an earlier merge") for pp in everything]
    if any(pair in done for pair in pairs):
        reason = (
            f"{site.module}.{site.name} was fused by an earlier merge with other patches; run `patchmerge undo` first"
        )
        return [
            (pp, Outcome.ALREADY_FUSED, "fused by an earlier merge")
            if (pp.patch.target, pp.patch.patch_import) in done
            else (pp, Outcome.FAILED, reason)
            for pp in everything
        ]
    blockers = [pp for pp in everything if not pp.resolved]
    unregistered = [
        pp
        for pp in everything
        if pp.resolved
        and pp.patch.id not in covered
        and not any(r.patch_import == pp.patch.patch_import for r in index.registered.get(pp.patch.target, []))
    ]
    guarded = [
        pp for pp in everything
        if pp.resolved and pp not in unregistered
        and any(r.patch_import == pp.patch.patch_import and r.import_guarded
                for r in index.registered.get(pp.patch.target, []))
    ]
    if not blockers and not unregistered and not guarded:
        return None
    decisions: list[tuple[PlannedPatch, Outcome, str | None]] = []
    first = (blockers or unregistered or guarded)[0]
    for pp in everything:
        if pp in guarded:
            at = "; ".join(f"{r.file}:{r.line}" for r in index.registered[pp.patch.target]
                           if r.patch_import == pp.patch.patch_import and r.import_guarded)
            decisions.append((pp, Outcome.FAILED, (
                f"registered at {at} in a `try` that catches ImportError: at runtime it is made or not as an import "
                "there works or fails, which the patch JSON cannot say, so it stays a runtime patch")))
        elif pp in unregistered:
            at = index.collected.sites.get(pp.patch.id)
            readable = at is None or at[0] not in index.collected.unreadable
            reason = unregistered_reason(pp, index.registered, index.assigned, index.computed, at, readable)
            decisions.append((pp, Outcome.FAILED, reason))
        elif pp.resolved:
            decisions.append(
                (pp, Outcome.SKIPPED, f"{first.patch.id} on the same binding cannot be fused; a binding is fused whole")
            )
    return decisions


def _replaced_with_members(sites: list[Site]) -> list[tuple[Site, str]]:
    """A class replaced by a class whose members are patched too: the runtime patches each member on the class
    bound when that member's Patch applies (the replacement or the original, by registration order), which no
    fused tree can reproduce. The class and its members stay runtime patches, with this reason."""
    found: list[tuple[Site, str]] = []
    for site in sites:
        classes = [pp for pp in site.patches if pp.source is not None and pp.source.kind is DefKind.CLASS]
        if site.owner_class is not None or not classes:
            continue
        members = [s for s in sites if s.module == site.module and s.owner_class == site.name]
        if not members:
            continue
        names = ", ".join(f"{site.name}.{m.name}" for m in members)
        reason = (
            f"{site.module}.{site.name} is replaced by {classes[0].patch.patch_import} and its members ({names}) "
            "are patched too: the runtime patches each member on the class bound when its Patch applies, so "
            "the class and its members stay runtime patches"
        )
        found += [(s, reason) for s in (site, *members) if all(s is not done for done, _ in found)]
    return found


def _ids(sites: list[Site]) -> set[str]:
    return {pp.patch.id for site in sites for pp in site.patches}


def _lines_by_file(groups: set[str]) -> dict[str, set[int]]:
    """`file:line` strings -> {file: {line, ...}}."""
    found: dict[str, set[int]] = {}
    for group in groups:
        file, _, line = group.rpartition(":")
        found.setdefault(file, set()).add(int(line))
    return found
