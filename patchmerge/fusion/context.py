"""What a fusion strategy plugin gets for each site (the `fuse_site` hook): defined in `patchmerge.plugin_types`,
so the hook specifications name no part of the merge's orchestration."""

from patchmerge.plugin_types import FuseContext, SiteKey

__all__ = ["FuseContext", "SiteKey"]
