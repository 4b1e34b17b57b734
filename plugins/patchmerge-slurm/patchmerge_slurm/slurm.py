"""Slurm's own commands, called as a user would: sbatch, scancel, and the job's state from sacct, else scontrol,
else the job completion file (`sacct -c`) that a cluster without an accounting database may keep."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from patchmerge.errors import PatchmergeError

# states in which a job may still run; any other state is final
ACTIVE = frozenset(
    {
        "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
        "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD",
    }
)  # fmt: skip
FIELDS = "JobID,State,ExitCode,NodeList,Start,End"
CALL_SECONDS = 60.0  # a controller that answers nothing for this long is reported, not waited on forever
_PAIR = re.compile(r"(\w+)=(\S*)")


class SlurmError(PatchmergeError):
    """A Slurm command that is missing or refused what it was asked."""


@dataclass(frozen=True)
class JobState:
    job_id: str
    state: str  # PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, NODE_FAIL...
    exit_code: str = "0:0"  # "status:signal"
    node: str = ""
    start: str = ""
    end: str = ""
    source: str = ""  # where it was read: sacct, scontrol or jobcomp

    @property
    def finished(self) -> bool:
        return self.state not in ACTIVE

    @property
    def exit_status(self) -> int:
        status, _, signal = self.exit_code.partition(":")
        code = int(status) if status.isdigit() else 0
        return code if code or not signal.isdigit() or not int(signal) else 128 + int(signal)


class Slurm:
    """One user's view of the cluster. `env` is the environment of every command (SLURM_CONF and all)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.accounting = True  # until sacct says the cluster keeps no accounting database

    def submit(self, argv: list[str], held: bool = False) -> str:
        done = self._call(["sbatch", "--parsable", *(["--hold"] if held else []), *argv])
        if done.returncode != 0:
            raise SlurmError(f"sbatch refused the job: {_said(done)}")
        job_id = done.stdout.strip().split(";")[0]
        if not job_id.isdigit():
            raise SlurmError(f"sbatch gave no job id: {done.stdout.strip()!r}")
        return job_id

    def cancel(self, job_id: str) -> None:
        self._call(["scancel", job_id])

    def release(self, job_id: str) -> None:
        done = self._call(["scontrol", "release", job_id])
        if done.returncode != 0:
            raise SlurmError(f"scontrol release {job_id} failed: {_said(done)}")

    def held(self, name: str, workdir: str) -> list[str]:
        """The jobs named `name` that run in `workdir` and wait, held by their user (oldest first)."""
        done = self._call(["squeue", "-h", "-n", name, "-t", "PENDING", "-o", "%i|%r|%Z"])
        fields = [line.split("|", 2) for line in done.stdout.splitlines()] if done.returncode == 0 else []
        found = [f[0] for f in fields if len(f) == 3 and f[1] == "JobHeldUser" and f[2] == workdir]
        return sorted(found, key=lambda job: int(job) if job.isdigit() else 0)

    def batch_script(self, job_id: str) -> str:
        """The script the job runs (for `--wrap`, the one sbatch wrote), or "" where the controller gives none."""
        done = self._call(["scontrol", "write", "batch_script", job_id, "-"])
        return done.stdout if done.returncode == 0 else ""

    def state(self, job_id: str) -> JobState | None:
        """The job's state, or None when no source knows the job (yet, or any more)."""
        if self.accounting:
            done = self._call(["sacct", "-n", "-P", "-X", "-j", job_id, "-o", FIELDS])
            if done.returncode != 0:  # e.g. "Slurm accounting storage is disabled": not asked again
                self.accounting = False
            else:
                found = _from_sacct(done.stdout, job_id, "sacct")
                if found is not None:
                    return found
        done = self._call(["scontrol", "show", "job", "-o", job_id])
        if done.returncode == 0 and f"JobId={job_id} " in done.stdout:
            values = dict(_PAIR.findall(done.stdout))
            return JobState(
                job_id=job_id,
                state=values.get("JobState", "UNKNOWN"),
                exit_code=values.get("ExitCode", "0:0"),
                node=values.get("NodeList", ""),
                start=values.get("StartTime", ""),
                end=values.get("EndTime", ""),
                source="scontrol",
            )
        # gone from the controller's memory (MinJobAge): the job completion file may still hold it
        done = self._call(["sacct", "-c", "-n", "-P", "-j", job_id, "-o", FIELDS])
        return _from_sacct(done.stdout, job_id, "jobcomp") if done.returncode == 0 else None

    def _call(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                argv, env=self.env, capture_output=True, text=True, timeout=CALL_SECONDS, stdin=subprocess.DEVNULL
            )
        except FileNotFoundError:
            raise SlurmError(
                f"{argv[0]} not found: install Slurm's client commands here, or remove the [slurm] table from the "
                "profile to run checks locally"
            ) from None
        except subprocess.TimeoutExpired:
            raise SlurmError(f"{' '.join(argv)} gave no answer in {CALL_SECONDS:g} s: is slurmctld up?") from None


def _from_sacct(text: str, job_id: str, source: str) -> JobState | None:
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) >= 6 and fields[0] == job_id:
            state = fields[1].split()[0] if fields[1].strip() else "UNKNOWN"  # "CANCELLED by 0" -> CANCELLED
            return JobState(job_id, state, fields[2] or "0:0", fields[3], fields[4], fields[5], source)
    return None


def _said(done: subprocess.CompletedProcess[str]) -> str:
    return (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}").splitlines()[-1]
