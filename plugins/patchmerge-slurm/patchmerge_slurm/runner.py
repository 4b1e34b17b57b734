"""One model run as a Slurm job: submit, wait (or find the job an earlier patchmerge left), map its end to an
outcome; a job the cluster lost is submitted again, then the step is skip. Only jobs this run started (or the
job handed back on --resume) are ever cancelled."""

from __future__ import annotations

import shlex
import sys
import threading
import time
from datetime import datetime
from typing import Any

from patchmerge.plugin_types import ModelRun, RunOutcome, RunStopped
from patchmerge_slurm.settings import SlurmSettings, check_workdir
from patchmerge_slurm.slurm import JobState, Slurm

RUNNER = "slurm"
# ends that are not the patch's fault: the job is submitted again, then the step is skip
LOST = frozenset({"CANCELLED", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "OUT_OF_MEMORY", "DEADLINE", "REVOKED", "LOST"})
FIRST_POLL = 0.2  # seconds; each wait is 1.5 times longer, up to slurm.poll_seconds
UNKNOWN_POLLS = 5  # looks at a job no source knows before it counts as lost
SETTLE_SECONDS = 60.0  # after scancel at the timeout, how long to wait for the job to end (KillWait and more)
STOP_SETTLE_SECONDS = 10.0  # the same when interrupted: say what happened soon, Slurm finishes the cleanup


class SlurmRun:
    def __init__(self, run: ModelRun, settings: SlurmSettings, slurm: Slurm | None = None) -> None:
        self.run, self.settings = run, settings
        self.slurm = slurm or Slurm(run.env)
        self.attempts: list[dict[str, Any]] = []
        self.submitted = ""
        self.echoed = 0  # bytes of the job's output already shown

    def outcome(self) -> RunOutcome:
        started = time.monotonic()
        check_workdir(self.settings, self.run.cwd)
        job_id = self._earlier() or self._left_held() or self._submit()
        while True:
            try:
                end, stopped_by_us = self._wait(job_id)
            except BaseException:  # Ctrl-C, a bisect stopping, an error: our job must not run on without us
                self._cancel(job_id)
                raise
            lost = [a for a in self.attempts if a["state"] in LOST]
            if not stopped_by_us and end.state in LOST and len(lost) <= self.settings.retries:
                _say(f"slurm: job {job_id} ended {end.state}; submitting it again")
                job_id = self._submit()
                continue
            return self._outcome(end, stopped_by_us, time.monotonic() - started)

    def record(self) -> dict[str, Any]:
        last = self.attempts[-1] if self.attempts else {}
        return {"runner": RUNNER, **last, "submitted": self.submitted, "attempts": [dict(a) for a in self.attempts]}

    def _earlier(self) -> str | None:
        """The job an interrupted patchmerge submitted for this run, when Slurm still runs it or kept its end."""
        record = self.run.record
        if not record or record.get("runner") != RUNNER or not record.get("job_id"):
            return None
        job_id = str(record["job_id"])
        state = self.slurm.state(job_id)
        if state is None or (state.finished and state.state in LOST):
            return None  # gone, or cancelled when patchmerge was stopped: a new job
        self.attempts = [dict(a) for a in record.get("attempts", []) if a.get("job_id") == job_id]
        self.attempts = self.attempts or [{"job_id": job_id, "state": state.state}]
        self.submitted = str(record.get("submitted", ""))
        if job_id in self.slurm.held(self.settings.job_name, str(self.run.cwd)):
            self.slurm.release(job_id)  # recorded, and stopped before it released it (see `_submit`)
        _say(f"slurm: job {job_id} of the earlier run is {state.state}: waiting for it")
        return job_id

    def _left_held(self) -> str | None:
        """The job an interrupted patchmerge submitted for this run but was stopped before it recorded: it waits,
        held (see `_submit`); taken over where it runs this very command, else cancelled, never run."""
        taken = None
        for job_id in self.slurm.held(self.settings.job_name, str(self.run.cwd)):
            if taken is None and self._wrapped() in self.slurm.batch_script(job_id).splitlines():
                taken = job_id
            else:
                self.slurm.cancel(job_id)
                _say(f"slurm: cancelled job {job_id}, held by an earlier run that never recorded it")
        if taken is None:
            return None
        self._recorded(taken)
        self.slurm.release(taken)
        _say(f"slurm: job {taken} of the earlier run was submitted but never recorded: released, waiting for it")
        return taken

    def _wrapped(self) -> str:
        return f"exec {shlex.join(self.run.command)}"

    def _recorded(self, job_id: str) -> None:
        self.submitted = self.submitted or datetime.now().astimezone().isoformat(timespec="seconds")
        self.attempts.append({"job_id": job_id, "state": "PENDING"})
        if self.run.on_record is not None:
            self.run.on_record(self.record())

    def _submit(self) -> str:
        s, run = self.settings, self.run
        argv = [
            f"--job-name={s.job_name}",
            f"--chdir={run.cwd}",
            f"--output={run.log}",  # stdout and stderr together, as the local runner keeps them
            "--open-mode=truncate",
            f"--time={s.time_limit(run.timeout)}",
            f"--nodes={s.nodes}",
            f"--ntasks={s.ntasks}",
            "--export=ALL",  # the environment sbatch gets: PYTHONPATH and all, as a local run has it
            *([f"--partition={s.partition}"] if s.partition else []),
            *([f"--account={s.account}"] if s.account else []),
            *s.sbatch_args,
            "--wrap",
            self._wrapped(),
        ]
        # held until it is recorded: a patchmerge killed in between leaves a job that waits for --resume
        # (`_left_held`), not one that runs with no step to know of it
        job_id = self.slurm.submit(argv, held=True)
        self._recorded(job_id)
        self.slurm.release(job_id)
        _say(f"slurm: submitted job {job_id} ({run.cwd})")
        return job_id

    def _wait(self, job_id: str) -> tuple[JobState, bool]:
        """Until the job ends; True with it when we cancelled it at the timeout."""
        interval, unknown = FIRST_POLL, 0
        while True:
            if self.run.stop is not None and self.run.stop.is_set():
                raise RunStopped(f"Slurm job {job_id} cancelled: the bisect stopped")
            state = self.slurm.state(job_id)
            if state is None:
                unknown += 1
                state = JobState(job_id, "LOST" if unknown >= UNKNOWN_POLLS else "PENDING")
            self._note(state)
            self._echo()
            if state.finished:
                return state, False
            ran = _seconds_since(state.start) if state.state == "RUNNING" else None
            if ran is not None and ran > self.run.timeout:
                self.slurm.cancel(job_id)
                return self._settle(job_id), True
            _pause(self.run.stop, interval)
            interval = min(interval * 1.5, self.settings.poll_seconds)

    def _settle(self, job_id: str, seconds: float = SETTLE_SECONDS) -> JobState:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            state = self.slurm.state(job_id)
            if state is not None and state.finished:
                self._note(state)
                return state
            time.sleep(0.5)
        self._note(JobState(job_id, "CANCELLED"))
        return JobState(job_id, "CANCELLED")

    def _cancel(self, job_id: str) -> None:
        state = self.attempts[-1]["state"] if self.attempts else "PENDING"
        if state not in LOST and not JobState(job_id, state).finished:
            self.slurm.cancel(job_id)
            _say(f"slurm: cancelled job {job_id}")
            self._settle(job_id, STOP_SETTLE_SECONDS)

    def _note(self, state: JobState) -> None:
        if self.attempts and self.attempts[-1]["job_id"] == state.job_id:
            attempt = self.attempts[-1]
            attempt["state"] = state.state
            for key, value in (("exit_code", state.exit_code), ("node", state.node), ("start", state.start),
                               ("end", state.end)):  # fmt: skip
                if value and value not in ("Unknown", "None"):
                    attempt[key] = value

    def _echo(self) -> None:
        if not self.run.echo:
            return
        try:
            with open(self.run.log, "rb") as log:
                log.seek(self.echoed)
                data = log.read()
        except OSError:
            return
        self.echoed += len(data)
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        except (OSError, ValueError, AttributeError):  # our own stdout went away: the log still has it all
            pass

    def _outcome(self, end: JobState, stopped_by_us: bool, seconds: float) -> RunOutcome:
        job = f"Slurm job {end.job_id}"
        record = self.record()
        if not self.run.log.exists():  # nothing came back: never started, or the node cannot see the workspace
            started = bool(self.attempts and self.attempts[-1].get("start"))
            why = (
                f"wrote no output to {self.run.log}: is the workspace on a filesystem the compute nodes see?"
                if started and end.state not in LOST
                else "before it wrote any output"
            )
            self.run.log.write_text(f"patchmerge-slurm: {job} ended {end.state} {why}\n", encoding="utf-8")
        if stopped_by_us:
            note = f"{self.run.timeout:g} s of running; {job} cancelled"
            return RunOutcome(None, seconds, timed_out=True, note=note, record=record)
        if end.state == "TIMEOUT":
            limit = self.settings.time_limit(self.run.timeout)
            note = f"{job} TIMEOUT: over its time limit of {limit}{'' if ':' in limit else ' min'}"
            return RunOutcome(None, seconds, timed_out=True, note=note, record=record)
        if end.state in LOST:
            before = [f"job {a['job_id']} {a['state']}" for a in self.attempts[:-1]]
            earlier = f" after {', '.join(before)}" if before else ""
            reason = f"{job} ended {end.state}{earlier}: a run the cluster lost cannot be judged"
            return RunOutcome(None, seconds, skip_reason=reason, record=record)
        status = end.exit_status
        if end.state != "COMPLETED" and status == 0:
            status = 1  # an end Slurm calls neither success nor a script's failure
        return RunOutcome(status, seconds, note=f"{job} {end.state}", record=record)


def _seconds_since(start: str) -> float | None:
    try:
        return time.time() - datetime.fromisoformat(start).timestamp()  # Slurm writes local time
    except ValueError:
        return None


def _pause(stop: threading.Event | None, seconds: float) -> None:
    if stop is None:
        time.sleep(seconds)
    else:
        stop.wait(seconds)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
