"""What every planning hook gets (`PlanContext`, in `patchmerge.plugin_types`): made here, with the tree being read."""

from __future__ import annotations

import os
from pathlib import Path

import pluggy

from patchmerge.plugin_types import PlanContext
from patchmerge.profile import Profile
from patchmerge.source.tree import SourceTree


def create_plan_context(root: Path, profile: Profile, pm: pluggy.PluginManager) -> PlanContext:
    """The context of one planning run: the tree read with the profile's roots, and the plugins' hooks."""
    tree = SourceTree(root, profile.sources.roots, profile.sources.rewritable, cache_dir=default_cache_dir())
    return PlanContext(root=root, profile=profile, tree=tree, hooks=pm.hook)


def default_cache_dir() -> Path | None:
    """A per-user cache of parsed-file facts, keyed by content, so it is shared across trees and runs."""
    if os.environ.get("PATCHMERGE_NO_CACHE") == "1":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "patchmerge"
