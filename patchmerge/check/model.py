"""What a check is asked to do and what it found (a runner plugin's `ModelRun` and `RunOutcome` are in
`patchmerge.plugin_types`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchmerge.plugin_types import ModelRun, RunOutcome, RunStopped

__all__ = ["SKIP_EXIT", "CheckOptions", "CheckResult", "ModelRun", "RunOutcome", "RunStopped", "Verdict"]

SKIP_EXIT = 125  # a model script that exits 125 cannot be judged (as in `git bisect run`)


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"  # only bisect uses it: the script exited 125


@dataclass(frozen=True)
class CheckOptions:
    model_shell: str  # relative to the shell root (MindSpeed-LLM)
    pattern: str
    regex: bool
    timeout: float
    log_files: tuple[str, ...]  # globs relative to the script's working folder
    shell_root: str
    probes: bool | None = None  # None: the profile's
    strict_merge: bool = False  # a patch the merge reports as failed fails the check
    echo: bool = True
    write_dirs: tuple[str, ...] = ("logs",)  # folders of the shell root the script writes into: copied


@dataclass
class CheckResult:
    verdict: Verdict
    reason: str
    workspace: Path
    log: Path | None = None
    script_exit: int | None = None
    seconds: float = 0.0
    merge_failed: bool = False
    matched_in: str | None = None  # the file where the pattern was found
    coverage: dict[str, Any] | None = None
    merge_report: Path | None = None
    fused: list[str] = field(default_factory=list)  # ids of the fused patches
    warnings: list[str] = field(default_factory=list)
    job: dict[str, Any] | None = None  # the runner's record of the run (a scheduler's job), if it keeps one

    def document(self) -> dict[str, Any]:
        figures = None
        if self.coverage is not None:
            figures = {k: v for k, v in self.coverage.items() if not isinstance(v, list | dict)}
        return {
            "verdict": Verdict.FAIL.value if self.verdict is Verdict.SKIP else self.verdict.value,
            "reason": self.reason,
            "log": str(self.log) if self.log else None,
            "script_exit": self.script_exit,
            "seconds": round(self.seconds, 3),
            "workspace": str(self.workspace),
            "coverage": figures,
            "merge_failed": self.merge_failed,
            "merge_report": str(self.merge_report) if self.merge_report else None,
            "matched_in": self.matched_in,
            "patches_fused": len(self.fused),
            "warnings": self.warnings,
            "job": self.job,
        }
