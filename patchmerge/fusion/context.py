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
        if (source.module, None, source.qualname) not in self.fused_sites:
            return None
        return f"{HELPER_ALIAS}.unpatched({source.module!r}, {source.qualname!r})"
