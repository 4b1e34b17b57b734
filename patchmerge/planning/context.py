"""What every planning hook gets: the tree being read, the profile, and per-run state for plugins."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from patchmerge.profile import Profile
from patchmerge.resolve import SourceTree


@dataclass
class PlanContext:
    root: Path
    profile: Profile
    tree: SourceTree
    hooks: Any  # pluggy's HookRelay
    # per-run state a plugin may keep (e.g. its resolver), keyed by the plugin's own name
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, profile: Profile, pm: pluggy.PluginManager) -> PlanContext:
        tree = SourceTree(root, profile.sources.roots, profile.sources.rewritable, cache_dir=default_cache_dir())
        return cls(root=root, profile=profile, tree=tree, hooks=pm.hook)


def default_cache_dir() -> Path | None:
    """A per-user cache of parsed-file facts, keyed by content, so it is shared across trees and runs."""
    if os.environ.get("PATCHMERGE_NO_CACHE") == "1":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "patchmerge"
