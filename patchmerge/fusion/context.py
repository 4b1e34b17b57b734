"""What a fusion strategy plugin gets for each site (the `fuse_site` hook): a leaf module, so the hook
specifications name no part of the merge's orchestration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from patchmerge.fusion.sites import Site
from patchmerge.fusion.stanza import HELPER_ALIAS
from patchmerge.model import PlannedPatch

if TYPE_CHECKING:
    from patchmerge.planning import PlanContext

SiteKey = tuple[str, str | None, str]


@dataclass
class FuseContext:
    """What a fusion strategy gets for each site."""

    plan_context: PlanContext
    helper_module: str
    probes: bool = True
    fused_sites: dict[SiteKey, Site] = field(default_factory=dict)
    # sites whose conditions read only options of the adaptor's own parse: decided from it, as the runtime does
    adaptation_sites: set[SiteKey] = field(default_factory=set)

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
        site = self.fused_sites.get((source.module, None, source.qualname))
        if site is None:
            return None
        # the runtime registers what the name holds when the registration runs: before this phase applies, after
        # the earlier ones; a patch_import patched only in earlier phases is then the name as fused, imported
        phase = pp.patch.phase or 0
        if all((other.patch.phase or 0) < phase for tp in site.targets for other in tp.patches if other.resolved):
            return None
        return f"{HELPER_ALIAS}.unpatched({source.module!r}, {source.qualname!r})"
