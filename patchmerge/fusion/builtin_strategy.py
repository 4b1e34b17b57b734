"""The built-in fusion strategy: the patch chain as a settle function installed by the runtime helper."""

from __future__ import annotations

from patchmerge.fusion.context import FuseContext
from patchmerge.fusion.sites import Site
from patchmerge.fusion.stanza import render_site
from patchmerge.hookspecs import hookimpl


@hookimpl(trylast=True)
def fuse_site(site: Site, context: FuseContext) -> str:
    semantics = context.plan_context.profile.runtime.semantics
    return render_site(
        site,
        context.module_of,
        context.unpatched,
        probes=context.probes,
        semantics=semantics,
        adaptation_args=site.key in context.adaptation_sites,
        waits=context.waits.get(site.key, ()),
    )
