"""What the fusion stages hand each other."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from patchmerge.model import FusionKind, Patch, PlannedPatch


class Outcome(enum.StrEnum):
    FUSED = "fused"
    ALREADY_FUSED = "already-fused"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class FileEdit:
    """One file's content before and after the merge. `path` is relative to ROOT_DIR."""

    path: Path
    original: bytes | None  # None: a file the merge creates
    new: bytes


@dataclass
class PatchOutcome:
    patch: Patch
    kind: FusionKind | None
    outcome: Outcome
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    strategy: str | None = None  # how a fused patch was fused: "in-source" or "deferred"
    strategy_reason: str | None = None  # for "deferred": why the in-source strategy could not take it


@dataclass
class Outcomes:
    """Each patch's outcome, settled as the stages go (a later stage may settle a patch again)."""

    by_id: dict[str, PatchOutcome] = field(default_factory=dict)

    def settle(self, pp: PlannedPatch, outcome: Outcome, reason: str | None = None, strategy: str | None = None,
               strategy_reason: str | None = None) -> None:
        self.by_id[pp.patch.id] = PatchOutcome(
            pp.patch, pp.kind, outcome, reason, list(pp.notes), strategy, strategy_reason
        )


@dataclass
class MergeResult:
    root: Path
    outcomes: list[PatchOutcome]
    edits: list[FileEdit]
    warnings: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes if o.outcome is outcome)
