"""Runs the search with real checks: one workspace per step under the state folder, verdicts kept as they come."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from patchmerge.bisection.search import Finding, Subset, bisect_units, expected_runs
from patchmerge.bisection.state import BisectState, Step, save_result, save_state
from patchmerge.check.model import CheckOptions, Verdict
from patchmerge.check.pipeline import resume_check, run_check
from patchmerge.model import PatchSet
from patchmerge.session import Session
from patchmerge.workspace import RECORD


class Bisector:
    def __init__(
        self,
        session: Session,
        patch_set: PatchSet,
        options: CheckOptions,
        state_dir: Path,
        state: BisectState,
        *,
        jobs: int = 1,
        progress: Callable[[str], None] = print,
    ) -> None:
        self.session, self.patch_set, self.options = session, patch_set, options
        self.state_dir, self.state, self.jobs, self.progress = state_dir, state, max(1, jobs), progress
        self.units = list(patch_set.targets)
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.runs_this_time = 0
        self.stop = threading.Event()  # set when the bisect ends while runs are out: each runner stops its own
        self.resumable: set[int] = set()  # steps whose run a runner still knows (a queued job): waited for

    def run(self) -> Finding:
        return bisect_units(len(self.units), self.oracle, self.jobs)

    def oracle(self, subsets: Sequence[Subset]) -> list[Verdict | None]:
        verdicts: list[Verdict | None] = [self.state.verdict_of(s) for s in subsets]
        for subset, verdict in zip(subsets, verdicts, strict=True):
            if verdict is not None:
                self.progress(f"bisect: {self.describe(subset)}: {verdict.value} (kept from an earlier run)")
        todo = [i for i, v in enumerate(verdicts) if v is None]
        steps = [self._begin(subsets[i]) for i in todo]
        if len(steps) == 1 or self.jobs == 1:
            outcomes = [self._run(step, subsets[i]) for step, i in zip(steps, todo, strict=True)]
        else:
            with ThreadPoolExecutor(max_workers=self.jobs) as pool:
                try:
                    outcomes = list(pool.map(self._run, steps, [subsets[i] for i in todo]))
                except BaseException:  # Ctrl-C or an error: the other runs must not go on without us
                    self.stop.set()
                    raise
        for i, verdict in zip(todo, outcomes, strict=True):
            verdicts[i] = verdict
        return verdicts

    def _begin(self, subset: Subset) -> Step:
        with self.lock:
            key = tuple(sorted(subset))
            pending = next((s for s in self.state.steps if s.verdict is None and s.key == key), None)
            if pending is None:
                number = len(self.state.steps) + 1
                pending = Step(
                    number=number,
                    units=list(key),
                    patches=sum(len(self.patch_set.targets[self.units[u]]) for u in key),
                    workspace=str(self.state_dir / f"step-{number:03d}"),
                )
                self.state.steps.append(pending)
            save_state(self.state_dir, self.state)
        workspace = Path(pending.workspace)
        if pending.job and (workspace / RECORD).is_file():
            self.resumable.add(pending.number)  # its run was handed out before we stopped: the runner looks it up
        elif workspace.exists():  # an interrupted step: start it again from nothing
            shutil.rmtree(workspace)
        elapsed = time.monotonic() - self.started
        self.progress(
            f"bisect: step {pending.number} of about {self.expected()} | fusing {self.describe(subset)} "
            f"| elapsed {elapsed:.1f} s"
        )
        return pending

    def _run(self, step: Step, subset: Subset) -> Verdict:
        patch_set, workspace = self.subset(subset), Path(step.workspace)
        if step.number in self.resumable and step.job is not None:
            self.progress(f"bisect: step {step.number}: waiting for its earlier run ({_describe_job(step.job)})")
            result = resume_check(
                self.session, patch_set, self.options, workspace, step.job, on_record=self._keeper(step),
                stop=self.stop,
            )
        else:
            result = run_check(
                self.session, patch_set, self.options, workspace, on_record=self._keeper(step), stop=self.stop
            )
        with self.lock:
            step.job = result.job if result.job is not None else step.job
            step.verdict = result.verdict.value
            step.reason = result.reason
            step.log = str(result.log) if result.log else None
            step.script_exit = result.script_exit
            step.seconds = round(result.seconds, 3)
            step.model_run = result.log is not None
            self.runs_this_time += step.model_run
            save_state(self.state_dir, self.state)
        self.progress(f"bisect: step {step.number}: {result.verdict.value}: {result.reason} ({result.seconds:.1f} s)")
        return result.verdict

    def _keeper(self, step: Step) -> Callable[[dict[str, Any]], None]:
        """Saves a runner's record in the state file as soon as it exists: a bisect killed now finds it again."""

        def keep(record: dict[str, Any]) -> None:
            with self.lock:
                step.job = dict(record)
                save_state(self.state_dir, self.state)

        return keep

    def subset(self, subset: Subset) -> PatchSet:
        """The patches of the chosen units, ids unchanged (so reports and coverage still name them rightly)."""
        targets = {self.units[u]: self.patch_set.targets[self.units[u]] for u in sorted(subset)}
        return PatchSet(
            targets=targets,
            source=self.patch_set.source,
            format=self.patch_set.format,
            raw_keys=self.patch_set.raw_keys,
        )

    def describe(self, subset: Subset) -> str:
        if not subset:
            return "no target (the tree as it is)"
        return f"{len(subset)} of {len(self.units)} targets ({ranges(sorted(subset))})"

    def expected(self) -> int:
        return max(expected_runs(len(self.units)), len(self.state.steps))

    def result_document(self, finding: Finding) -> dict[str, Any]:
        culprit_targets = [self.units[u] for u in finding.culprits]
        return {
            "culprits": [p.id for t in culprit_targets for p in self.patch_set.targets[t]],
            "culprit_targets": culprit_targets,
            "found": finding.found,
            "ambiguous": finding.ambiguous,
            "note": finding.note,
            "runs": self.state.model_runs,
            "targets_total": len(self.units),
            "patches_total": len(self.patch_set),
            "seconds": round(time.monotonic() - self.started, 3),
            "steps": [asdict(s) for s in self.state.steps],
        }

    def save_result(self, finding: Finding) -> Path:
        return save_result(self.state_dir, self.result_document(finding))


def _describe_job(record: dict[str, Any]) -> str:
    return " ".join(str(record[k]) for k in ("runner", "job_id", "state") if record.get(k) is not None) or "?"


def ranges(numbers: list[int]) -> str:
    """[0, 1, 2, 5] -> '1-3, 6' (1-based, as people count targets)."""
    parts: list[str] = []
    start = previous = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == previous + 1:
            previous = n
            continue
        parts.append(f"{start + 1}" if start == previous else f"{start + 1}-{previous + 1}")
        if n is not None:
            start = previous = n
    return ", ".join(parts)
