"""What a log-format plugin yields: one `ProbeHit` per probe payload read, one `Damaged` per payload that could
not be read. Both are small and slotted: a plugin may yield many of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
