"""merge: plan, decide per site, build every file's new text in memory, validate, hand over the edits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from patchmerge.fusion import edits as file_edits
from patchmerge.fusion.insource import DEFERRED, IN_SOURCE, fuse_in_source
from patchmerge.fusion.insource.adaptor_args import read_adaptor_args, render_parser
from patchmerge.fusion.insource.adaptor_args import read_files as adaptor_files
from patchmerge.fusion.insource.binding import condition_options
from patchmerge.fusion.insource.import_graph import ImportGraph
from patchmerge.fusion.insource.writer import Context as InSourceContext
from patchmerge.fusion.model import MergeResult, Outcome, PatchOutcome
from patchmerge.fusion.registration_files import (
    Collected,
    assignments,
    collected_sites,
    computed_registrations,
    find_registration_files,
    registrations_by_target,
    unregistered_reason,
)
from patchmerge.fusion.registrations import (
    COMPUTED_TARGET,
    Registration,
    analyse,
    disable_registrations,
)
from patchmerge.fusion.runtime_template import render as render_helper
from patchmerge.fusion.sites import Mechanism, Site, group_sites
from patchmerge.fusion.stanza import HELPER_ALIAS, waits_for
from patchmerge.fusion.texts import MergeAborted, Texts, module_for
from patchmerge.fusion.validate import check_file
from patchmerge.model import DefKind, FusionKind, PatchSet, Plan, PlannedPatch
from patchmerge.planning import PlanContext, build_plan
from patchmerge.session import Session


@dataclass
class FuseContext:
    """What a fusion strategy gets for each site."""

    plan_context: PlanContext
    helper_module: str
    probes: bool = True
    fused_sites: dict[tuple[str, str | None, str], Site] = field(default_factory=dict)
    # sites whose conditions read only options of the adaptor's own parse: decided from it, as the runtime does
    adaptation_sites: set[tuple[str, str | None, str]] = field(default_factory=set)

    def module_of(self, dotted: str) -> str | None:
        parts = dotted.split(".")
        for end in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:end])
            if self.plan_context.tree.exists(prefix):
                return prefix
        return None

    def unpatched(self, pp: PlannedPatch) -> str | None:
        source = pp.source
        if source is None or source.owner_class or "." in source.qualname:
            return None
        if (source.module, None, source.qualname) not in self.fused_sites:
            return None
        return f"{HELPER_ALIAS}.unpatched({source.module!r}, {source.qualname!r})"


def merge(session: Session, patch_set: PatchSet, *, probes: bool | None = None) -> MergeResult:
    """Fuse `patch_set` into the session's tree, in memory. `probes` (default: the profile's) puts a probe in
    every fused branch; False builds a tree with none."""
    context = PlanContext.create(session.root, session.profile, session.pm)
    plan = build_plan(patch_set, context)
    probes = session.profile.probes.enabled if probes is None else probes
    return fuse_plan(plan, context, session, probes=probes, collected=collected_sites(patch_set))


def fuse_plan(
    plan: Plan,
    context: PlanContext,
    session: Session,
    *,
    probes: bool = True,
    collected: Collected | None = None,  # for a JSON written by collect: where each patch was registered
) -> MergeResult:
    profile = session.profile
    texts = Texts(session.root)
    outcomes: dict[str, PatchOutcome] = {}

    def settle_outcome(pp: PlannedPatch, outcome: Outcome, reason: str | None = None) -> None:
        outcomes[pp.patch.id] = PatchOutcome(pp.patch, pp.kind, outcome, reason, list(pp.notes))

    for pp in plan.patches:
        if not pp.resolved:
            settle_outcome(pp, Outcome.FAILED, pp.reason)
    sites, site_failures = group_sites(plan.targets, context.tree)
    for tp in plan.targets:
        if tp.target in site_failures:
            for pp in tp.patches:
                settle_outcome(pp, Outcome.FAILED, site_failures[tp.target])
    for site, reason in _replaced_with_members(sites):
        sites.remove(site)
        for pp in site.patches:
            settle_outcome(pp, Outcome.FAILED, reason)

    registration_files = find_registration_files(session)
    analyses = {
        path: analyse(texts.read(path), path, module_for(path, profile.sources.roots), profile.registrations.calls)
        for path in registration_files
    }
    registered = registrations_by_target(analyses)
    assigned = assignments(registration_files, texts)
    computed = computed_registrations(analyses)
    collected = collected or Collected()
    groups = collected.groups(computed)  # loop registrations that can go once all they register is fused
    ok_groups = set(groups)
    while True:
        covered = {pid for group in ok_groups for pid in groups[group]}
        candidates: list[Site] = []
        for site in sites:
            decision = _decide(site, texts, registered, assigned, computed, collected, covered)
            if decision is None:
                candidates.append(site)
                continue
            for pp, outcome, reason in decision:
                settle_outcome(pp, outcome, reason)
        bad = {group for group in ok_groups if not groups[group] <= _ids(candidates)}
        if not bad:
            break
        ok_groups -= bad

    # Disable the registrations of the candidates; a site whose registration cannot be disabled is not fused.
    disabled_texts: dict[Path, str] = {}
    while True:
        pairs = {(pp.patch.target, pp.patch.patch_import) for site in candidates for pp in site.patches}
        ids = _ids(candidates)
        lines = _lines_by_file({group for group in ok_groups if groups[group] <= ids})
        disabled: set[tuple[str, str]] = set()
        disabled_groups: set[str] = set()
        sites_of: dict[tuple[str, str], list[str]] = {}
        disabled_texts = {}
        for path, analysis in analyses.items():
            source = texts.read(path)
            wanted = lines.get(path.as_posix(), set())
            if not wanted and not any((r.target, r.patch_import) in pairs for _, r in analysis.registrations.values()):
                continue
            new, regs = disable_registrations(
                source,
                path,
                module_for(path, profile.sources.roots),
                profile.registrations.calls,
                pairs,
                analysis=analysis,
                computed_lines=wanted,
            )
            disabled |= {(r.target, r.patch_import) for r in regs if r.patch_import}
            disabled_groups |= {f"{r.file.as_posix()}:{r.line}" for r in regs if r.target == COMPUTED_TARGET}
            for r in regs:
                if r.target != COMPUTED_TARGET:
                    sites_of.setdefault((r.target, r.patch_import or ""), []).append(f"{r.file}:{r.line}")
            if new != source:
                disabled_texts[path] = new
        gone = {pid for group in disabled_groups for pid in groups[group]}
        blocked = [
            site
            for site in candidates
            if any((pp.patch.target, pp.patch.patch_import) not in disabled and pp.patch.id not in gone
                   for pp in site.patches)
        ]
        if not blocked:
            break
        for site in blocked:
            candidates.remove(site)
            for pp in site.patches:
                reason = "its registration could not be disabled (not a plain call statement)"
                done = (pp.patch.target, pp.patch.patch_import) in disabled or pp.patch.id in gone
                settle_outcome(pp, Outcome.SKIPPED if done else Outcome.FAILED, reason)
    for path, new in disabled_texts.items():
        texts.write(path, new)

    adaptor_args = None
    if profile.runtime.adaptor_args_files:
        adaptor_args = read_adaptor_args(adaptor_files(session.root, profile.runtime.adaptor_args_files))
    in_source = fuse_in_source(
        candidates,
        InSourceContext(
            read=texts.read,
            rewritable=profile.sources.rewritable,
            helper_module=profile.runtime.helper_module,
            probes=probes,
            registered_at=lambda pp: _registered_at(pp, registered, collected),
            peek=lambda path: texts.read(path) if (session.root / path).is_file() else None,
            imports=ImportGraph(context.tree.module_file, context.tree.is_package),
        ),
        adaptor_args,
    )
    for path, text in in_source.texts.items():
        if path in in_source.probed and file_edits.binds_helper_alias(texts.read(path), profile.runtime.helper_module):
            raise MergeAborted(
                f"{path}: the module already binds the name '{HELPER_ALIAS}' at module level, which the fused "
                "probes need for the runtime helper; rename it in the module first"
            )
        texts.write(path, text)
    fuse_context = FuseContext(context, profile.runtime.helper_module, probes)
    fuse_context.fused_sites = {site.key: site for site in candidates}
    options = {option.dest: option for option in in_source.options}
    if adaptor_args is not None:
        for site in candidates:
            read = condition_options(site.patches, adaptor_args)
            if site not in in_source.fused and not isinstance(read, str) and read:
                fuse_context.adaptation_sites.add(site.key)
                options.update({option.dest: option for option in read})
    by_file: dict[Path, list[str]] = {}
    for site in candidates:
        if site in in_source.fused:
            for pp in site.patches:
                settle_outcome(pp, Outcome.FUSED)
                outcomes[pp.patch.id].strategy = IN_SOURCE
            continue
        code = session.pm.hook.fuse_site(site=site, context=fuse_context)
        by_file.setdefault(site.file, []).append(code)
        for pp in site.patches:
            settle_outcome(pp, Outcome.FUSED)
            outcomes[pp.patch.id].strategy = DEFERRED
            outcomes[pp.patch.id].strategy_reason = in_source.fallback.get(site.key)
    # each patch module a class or value settle may wait for says when it has finished importing
    for module in sorted({m for site in candidates if site not in in_source.fused
                          for m in waits_for(site, fuse_context.module_of)}):
        found = context.tree.module_file(module)
        relative = context.tree.relative(found) if found is not None else None
        if relative is not None:
            by_file.setdefault(relative, []).append(f"{HELPER_ALIAS}.module_ready(__name__)")
    for path, stanzas in by_file.items():
        try:
            appended = file_edits.append_block(texts.read(path), profile.runtime.helper_module, stanzas, path)
        except file_edits.EditError as exc:
            raise MergeAborted(str(exc)) from None
        texts.write(path, appended)
    deferred = [site for site in candidates if site not in in_source.fused]
    if deferred or in_source.probed:  # in source, only probes and conditions need the helper
        needs_setter = any(s.mechanism is Mechanism.VALUE for s in deferred)
        _write_runtime_support(session, context, texts, needs_setter, probes, render_parser(list(options.values())))
    for changes in session.pm.hook.post_merge_fixup(files=dict(texts.current), root=session.root, profile=profile):
        for path, text in (changes or {}).items():
            texts.write(Path(path), text)
    edits = texts.edits()
    problems = [
        problem
        for edit in edits
        for problem in check_file(
            edit.path,
            texts.original[edit.path],
            texts.current[edit.path],
            # moved code keeps what pyflakes already said of it where it came from (a name read after `del`)
            [texts.original.get(origin) or texts.read(origin) for origin in in_source.origins.get(edit.path, ())],
        )
    ]
    if problems:
        raise MergeAborted("the merge would write invalid code, so nothing was written:\n  " + "\n  ".join(problems))
    ordered = [outcomes[pp.patch.id] for pp in plan.patches]
    # A replacement registered twice replaces twice with the same object; a wrapper wraps twice if both run.
    wrappers = {(pp.patch.target, pp.patch.patch_import) for pp in plan.patches if pp.kind is FusionKind.WRAP}
    warnings = [
        f"wrapper {patch} on {target} is registered at {', '.join(places)}: all are disabled and it is fused "
        "once, as the patch JSON lists it once; if more than one of them runs, the runtime wraps more than once"
        for (target, patch), places in sites_of.items()
        if len(places) > 1 and (target, patch) in wrappers
    ]
    return MergeResult(root=session.root, outcomes=ordered, edits=edits, warnings=warnings)


def _decide(
    site: Site,
    texts: Texts,
    registered: dict[str, list[Registration]],
    assigned: dict[str, list[str]],
    computed: list[str],
    collected: Collected,
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
        and not any(r.patch_import == pp.patch.patch_import for r in registered.get(pp.patch.target, []))
    ]
    if not blockers and not unregistered:
        return None
    decisions: list[tuple[PlannedPatch, Outcome, str | None]] = []
    first = (blockers or unregistered)[0]
    for pp in everything:
        if pp in unregistered:
            at = collected.sites.get(pp.patch.id)
            readable = at is None or at[0] not in collected.unreadable
            reason = unregistered_reason(pp, registered, assigned, computed, at, readable)
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


def _registered_at(pp: PlannedPatch, registered: dict[str, list[Registration]], collected: Collected) -> str:
    """Where the patch was registered, for the comment on its fused definition."""
    for registration in registered.get(pp.patch.target, []):
        if registration.patch_import == pp.patch.patch_import:
            return f"{registration.file.as_posix()}:{registration.line}"
    at = collected.sites.get(pp.patch.id)
    return f"{at[0]}:{at[1]}" if at else "registration not found"


def _ids(sites: list[Site]) -> set[str]:
    return {pp.patch.id for site in sites for pp in site.patches}


def _lines_by_file(groups: set[str]) -> dict[str, set[int]]:
    """`file:line` strings -> {file: {line, ...}}."""
    found: dict[str, set[int]] = {}
    for group in groups:
        file, _, line = group.rpartition(":")
        found.setdefault(file, set()).add(int(line))
    return found


def _write_runtime_support(
    session: Session, context: PlanContext, texts: Texts, needs_setter: bool, probes: bool, adaptor_options: str
) -> None:
    """The helper module the stanzas import, and the args-ready hook that settles classes and values."""
    runtime = session.profile.runtime
    package, _, name = runtime.helper_module.rpartition(".")
    folders = context.tree.package_dirs(package) if package else ()
    if not folders:
        raise MergeAborted(
            f"runtime.helper_module: package '{package}' of '{runtime.helper_module}' not found in the tree"
        )
    helper = context.tree.relative(folders[0] / f"{name}.py")
    assert helper is not None
    prefix = session.profile.probes.prefix if probes else None
    texts.write(helper, render_helper(runtime.args_accessor, prefix, adaptor_options))
    if not needs_setter:
        return
    module, _, function = runtime.args_setter.rpartition(".")
    setter_file = context.tree.relative(context.tree.module_file(module))
    if setter_file is None:
        raise MergeAborted(f"runtime.args_setter: module '{module}' not found in the tree")
    try:
        hooked = file_edits.hook_args_setter(texts.read(setter_file), function, setter_file)
    except file_edits.EditError as exc:
        raise MergeAborted(str(exc)) from None
    if hooked != texts.read(setter_file) and file_edits.BLOCK_START not in hooked:
        hooked = hooked.rstrip("\n") + "\n\n\n" + file_edits.helper_import_block(runtime.helper_module)
    texts.write(setter_file, hooked)
