"""The state file of a bisect: every step with its workspace, log and verdict, written as it goes, so an
interrupted bisect resumes without repeating a finished run and a step can be marked by hand."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from patchmerge.check.model import Verdict
from patchmerge.errors import PatchmergeError

STATE_FILE = "state.json"
RESULT_FILE = "result.json"
FORMAT_VERSION = 1


class BisectStateError(PatchmergeError):
    """A state folder that cannot be used for this bisect."""


@dataclass
class Step:
    number: int
    units: list[int]  # unit numbers fused in this step
    patches: int
    workspace: str
    verdict: str | None = None  # pass | fail | skip; None while running (or interrupted)
    reason: str = ""
    log: str | None = None
    script_exit: int | None = None
    seconds: float = 0.0
    model_run: bool = False  # False when the merge failed, so the script never ran
    marked: bool = False  # the verdict was given by hand (--mark)
    job: dict[str, Any] | None = None  # the runner's record (a scheduler's job id and state), kept as it comes

    @property
    def key(self) -> tuple[int, ...]:
        return tuple(sorted(self.units))


@dataclass
class BisectState:
    root: str
    profile: str
    patch_file: str
    patch_sha256: str
    units: list[str]  # the targets, in file order
    steps: list[Step] = field(default_factory=list)

    def verdict_of(self, units: frozenset[int]) -> Verdict | None:
        key = tuple(sorted(units))
        for step in reversed(self.steps):
            if step.key == key and step.verdict is not None:
                return Verdict(step.verdict)
        return None

    @property
    def model_runs(self) -> int:
        return sum(1 for s in self.steps if s.model_run)

    def pending(self) -> Step | None:
        return next((s for s in reversed(self.steps) if s.verdict is None), None)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_state(folder: Path) -> BisectState:
    path = folder / STATE_FILE
    if not path.is_file():
        raise BisectStateError(f"no bisect to resume in {folder} ({STATE_FILE} missing)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != FORMAT_VERSION:
            raise BisectStateError(f"{path}: written by another version of patchmerge (format {data.get('version')})")
        steps = [Step(**s) for s in data.pop("steps")]
        data.pop("version")
        return BisectState(steps=steps, **data)
    except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as exc:
        raise BisectStateError(f"{path}: damaged state file ({exc})") from None


def save_state(folder: Path, state: BisectState) -> None:
    document: dict[str, Any] = {"version": FORMAT_VERSION, **asdict(state)}
    _atomic_json(folder / STATE_FILE, document)


def save_result(folder: Path, document: dict[str, Any]) -> Path:
    path = folder / RESULT_FILE
    _atomic_json(path, document)
    return path


def _atomic_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)  # a bisect killed while saving keeps the previous state whole
