"""merge: plan, then the fusion stages in order, each returning what the next needs; every file's new text is
built in memory and validated before the edits are handed over.

1. `sites_to_fuse`: the bindings the plan reaches;  2. `read_registrations` then `decide`: those that can be
fused whole;  3. `disable`: their registrations disabled;  4. `write_in_source`: the default strategy;
5. `write_deferred`: the fallback, through the `fuse_site` hook;  6. `write_runtime_support`: the helper module,
when something needs it;  7. `run_fixups`: the `post_merge_fixup` hook;  8. `validated_edits`.
"""

from __future__ import annotations

from pathlib import Path

import pluggy

from patchmerge.fusion.context import FuseContext
from patchmerge.fusion.deciding import decide, disable, read_registrations, sites_to_fuse
from patchmerge.fusion.insource.adaptor_args import render_parser
from patchmerge.fusion.model import MergeResult, Outcomes
from patchmerge.fusion.registration_files import Collected, collected_sites
from patchmerge.fusion.texts import Texts
from patchmerge.fusion.writing import (
    adaptation_options,
    adaptor_args,
    argv_parses_read,
    needs_setter,
    repeated_wrapper_warnings,
    run_fixups,
    validated_edits,
    write_deferred,
    write_in_source,
    write_runtime_support,
)
from patchmerge.gc_paused import gc_paused
from patchmerge.model import PatchSet, Plan
from patchmerge.plan import PlanContext, build_plan, create_plan_context
from patchmerge.plan.planner import resolve
from patchmerge.plan.static_resolution import static_resolver
from patchmerge.profile import Profile
from patchmerge.session import Session

__all__ = ["FuseContext", "fuse_plan", "merge"]  # FuseContext: where plugins written for earlier versions look


def merge(session: Session, patch_set: PatchSet, *, probes: bool | None = None) -> MergeResult:
    """Fuse `patch_set` into the session's tree, in memory. `probes` (default: the profile's) puts a probe in
    every fused branch; False builds a tree with none."""
    with gc_paused():  # a merge keeps large, mostly acyclic trees alive (see gc_paused)
        return _merge(session, patch_set, probes)


def _merge(session: Session, patch_set: PatchSet, probes: bool | None) -> MergeResult:
    context = create_plan_context(session.root, session.profile, session.pm)
    plan = build_plan(patch_set, context)
    probes = session.profile.probes.enabled if probes is None else probes
    return fuse_plan(
        plan,
        context,
        root=session.root,
        profile=session.profile,
        hooks=session.pm,
        probes=probes,
        collected=collected_sites(patch_set),
    )


def fuse_plan(
    plan: Plan,
    context: PlanContext,
    *,
    root: Path,
    profile: Profile,
    hooks: pluggy.PluginManager,
    probes: bool = True,
    collected: Collected | None = None,  # for a JSON written by collect: where each patch was registered
) -> MergeResult:
    texts = Texts(root)
    outcomes = Outcomes()
    sites = sites_to_fuse(plan, context.tree, outcomes)
    index = read_registrations(root, profile, texts, collected)
    disabled = disable(decide(sites, texts, index, outcomes), index, texts, profile, outcomes)
    candidates = disabled.candidates
    options = adaptor_args(root, profile, candidates, lambda dotted: resolve(dotted, context), texts)
    in_source = write_in_source(
        candidates, root, profile, context.tree, texts, index, options, probes, lambda dotted: resolve(dotted, context),
        static_resolver(context),
    )
    fuse_context = FuseContext(context, profile.runtime.helper_module, probes)
    fuse_context.fused_sites = {site.key: site for site in candidates}
    read_options = adaptation_options(candidates, in_source, options, fuse_context)
    deferred = write_deferred(candidates, in_source, fuse_context, hooks, texts, outcomes)
    if deferred or in_source.probed:  # in source, only probes and conditions need the helper
        unknown = options is not None and options.unknown_args
        parser = render_parser(read_options, options.consuming if options is not None and unknown else None)
        setter = needs_setter(deferred)
        parses = argv_parses_read(options, [parser, *(texts.current[path] for path in texts.current)])
        adjusters = options.adjusters if options is not None else []
        write_runtime_support(
            profile, context.tree, texts, setter, probes, parser, in_source.branches, bool(deferred), parses, unknown,
            adjusters,
        )
    run_fixups(hooks, texts, root, profile)
    edits = validated_edits(texts, in_source)
    ordered = [outcomes.by_id[pp.patch.id] for pp in plan.patches]
    warnings = repeated_wrapper_warnings(plan, disabled.places)
    if options is not None and options.doubts:  # the parse was not narrowed: every add_argument call counts
        warnings.append(f"runtime.adaptor_args_entry: the walk of the adaptor's parse may miss a call, so every "
                        f"add_argument call of runtime.adaptor_args_files counts: {'; '.join(options.doubts[:3])}")
    return MergeResult(root=root, outcomes=ordered, edits=edits, warnings=warnings)
