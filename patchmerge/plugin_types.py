"""The types a plugin sees: what each hook gets and gives. A leaf module: it imports the data model and the
profile, nothing of the engines that plan, fuse, check or measure, so `hookspecs` and a plugin depend on this
alone.

- planning (`resolve_target`, `plan_notes`): `PlanContext`, and the data model's `Definition`, `TargetPlan`;
- fusion (`fuse_site`): `Site`, `Mechanism`, `FuseContext`;
- checking (`run_model`): `ModelRun`, `RunOutcome`, `RunStopped`;
- log formats (`open_log`): `ProbeHit`, `Damaged`;
- patch formats (`load_patches`, `write_patches`): `Patch`, `PatchSet`; every hook may get the `Profile`.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patchmerge.errors import PatchmergeError
from patchmerge.markers import HELPER_ALIAS
from patchmerge.model import Definition, Patch, PatchSet, PlannedPatch, TargetPlan
from patchmerge.profile import Profile

if TYPE_CHECKING:
    from patchmerge.source.tree import SourceTree

__all__ = [
    "Damaged", "Definition", "FuseContext", "Mechanism", "ModelRun", "Patch", "PatchSet", "PlanContext",
    "PlannedPatch", "ProbeHit", "Profile", "RunOutcome", "RunStopped", "Site", "SiteKey", "TargetPlan",
]

# ---- planning


@dataclass
class PlanContext:
    """What every planning hook gets: the tree being read (made by `plan.context.create_plan_context`)."""

    root: Path
    profile: Profile
    tree: SourceTree
    hooks: Any  # pluggy's HookRelay
    # per-run state a plugin may keep (e.g. its resolver), keyed by the plugin's own name
    state: dict[str, Any] = field(default_factory=dict)


# ---- fusion


class Mechanism(enum.StrEnum):
    FUNCTION = "function"  # a module-level stand-in that settles on first call
    MEMBER = "member"  # a class attribute that settles on first lookup
    VALUE = "value"  # a class or other value, settled when the args are set


@dataclass
class Site:
    """One binding the runtime would change (a module attribute or a class member), with the targets reaching it."""

    file: Path  # relative to ROOT_DIR
    module: str
    name: str  # the attribute that is rebound
    owner_class: str | None  # qualname of the class within `module`, for members
    mechanism: Mechanism
    targets: list[TargetPlan] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.module, self.owner_class, self.name)

    @property
    def patches(self) -> list[PlannedPatch]:
        return [pp for tp in self.targets for pp in tp.patches if pp.resolved]

    @property
    def slug(self) -> str:
        return "_".join(filter(None, [*(self.owner_class or "").split("."), self.name])).strip("_")


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
    # modules a class or value settle waits for while they are still being imported (see stanza.waits_for)
    waits: dict[SiteKey, tuple[str, ...]] = field(default_factory=dict)

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


# ---- checking

@dataclass(frozen=True)
class ModelRun:
    """One run of the model shell, as handed to a `run_model` hook."""

    command: tuple[str, ...]
    cwd: Path
    env: dict[str, str]
    log: Path
    timeout: float
    echo: bool = True  # also show the output as it comes
    profile: Profile | None = None  # the check's profile: a runner reads its own table from it
    record: Mapping[str, Any] | None = None  # what a runner recorded for this run before patchmerge stopped
    on_record: Callable[[dict[str, Any]], None] | None = None  # keeps a runner's record as soon as it exists
    stop: threading.Event | None = None  # set when the run must end now (Ctrl-C elsewhere, a bisect ending)


class RunStopped(PatchmergeError):
    """A run ended because `ModelRun.stop` was set: what the runner started was stopped."""


@dataclass(frozen=True)
class RunOutcome:
    exit_status: int | None  # None: stopped at the timeout
    seconds: float
    timed_out: bool = False
    note: str = ""  # the runner's account of the run (a job's id and state), added to the verdict's reason
    skip_reason: str | None = None  # the run cannot be judged (a node failed): the step is skip, whatever the exit
    record: dict[str, Any] | None = None  # the runner's record (a job's id, state, attempts): state.json, --json


# ---- log formats

ORIGINAL = "original"  # the INDEX part of `TARGET#original`: the original ran under a router


@dataclass(frozen=True, slots=True)
class ProbeHit:
    """One probe line: a fused branch was first taken in one process."""

    id: str  # TARGET#INDEX, or TARGET#original
    target: str
    patch_import: str = ""
    condition: str = ""
    module: str | None = None  # the module holding the fused target, as the fused tree knows it
    rank: str | None = None
    pid: int | None = None

    @property
    def is_original(self) -> bool:
        return self.id.endswith("#" + ORIGINAL)

    @classmethod
    def from_payload(cls, payload: Any, rank: str | None = None) -> ProbeHit | None:
        """Build a hit from a decoded payload; None if it is not a probe payload. `rank` is used when the
        payload's own rank is null."""
        if not isinstance(payload, dict):
            return None
        pid = payload.get("id")
        if not isinstance(pid, str) or "#" not in pid:
            return None
        target = payload.get("target")
        if not isinstance(target, str) or not target:
            target = pid.rpartition("#")[0]
        own_rank = payload.get("rank")
        if isinstance(own_rank, bool) or not isinstance(own_rank, str | int):
            own_rank = None
        process = payload.get("pid")
        module = payload.get("module")
        return cls(
            id=pid,
            target=target,
            patch_import=_text(payload.get("patch_import")),
            condition=_text(payload.get("condition")),
            module=module if isinstance(module, str) and module else None,
            rank=str(own_rank) if own_rank is not None else rank,
            pid=process if isinstance(process, int) and not isinstance(process, bool) else None,
        )


@dataclass(frozen=True, slots=True)
class Damaged:
    """A prefix whose payload could not be read (cut by another process's output, or by the end of the file)."""

    line: int  # 1-based line number in its file
    excerpt: str  # the start of the unreadable payload, for the report


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
