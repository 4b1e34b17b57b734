"""The profile's `[slurm]` table: how runs are submitted, checked like every profile key."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from patchmerge.errors import PatchmergeError
from patchmerge.profile import Profile, plugin_section

SECTION = "slurm"
# Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS
_TIME = re.compile(r"^(\d+-)?\d+(:\d+){0,2}$")
# folders every node has its own of: a workspace there is seen by this machine only
NODE_LOCAL_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run")
NODE_LOCAL_FS = ("tmpfs", "ramfs")


@dataclass(frozen=True)
class SlurmSettings:
    job_name: str = "patchmerge"
    partition: str = ""  # empty: the cluster's default
    account: str = ""
    nodes: int = 1
    ntasks: int = 1
    time: str = ""  # the job's time limit in Slurm's format; empty: --timeout rounded up to whole minutes
    sbatch_args: tuple[str, ...] = ()  # more sbatch options, e.g. ["--gres=npu:8", "--exclusive"]
    workdir: str = ""  # a folder the compute nodes see, holding the workspaces; empty: the state folder
    poll_seconds: float = 10.0  # the longest wait between two looks at a job
    retries: int = 1  # submissions again of a job the cluster lost (node failure, preemption, cancelled)

    def __post_init__(self) -> None:
        for key in ("nodes", "ntasks"):
            if getattr(self, key) < 1:
                raise ValueError(f"'{SECTION}.{key}' must be at least 1, got {getattr(self, key)}")
        if self.retries < 0:
            raise ValueError(f"'{SECTION}.retries' must not be negative, got {self.retries}")
        if not self.poll_seconds > 0:
            raise ValueError(f"'{SECTION}.poll_seconds' must be above 0, got {self.poll_seconds}")
        if self.time and not _TIME.match(self.time):
            raise ValueError(
                f"'{SECTION}.time' must be a Slurm time limit (minutes, 'H:MM:SS' or 'D-HH:MM'), got {self.time!r}"
            )
        if not self.job_name or any(c.isspace() for c in self.job_name):
            raise ValueError(f"'{SECTION}.job_name' must be one word, got {self.job_name!r}")
        if self.workdir:
            local = node_local(Path(self.workdir))
            if local and self.nodes > 1:
                raise ValueError(
                    f"'{SECTION}.workdir' {self.workdir} is {local}, which the other {self.nodes - 1} node(s) "
                    "cannot see: give a folder on a shared filesystem"
                )

    def time_limit(self, timeout: float) -> str:
        """The job's --time: the profile's, else the check's timeout rounded up to whole minutes."""
        return self.time or str(max(1, math.ceil(timeout / 60)))


def settings_of(profile: Profile | None) -> SlurmSettings | None:
    """The profile's [slurm] table, or None when it has none (runs then stay local)."""
    if profile is None or SECTION not in profile.tables:
        return None
    return plugin_section(profile, SECTION, SlurmSettings)


def check_workdir(settings: SlurmSettings, cwd: Path) -> None:
    """The run's folder must be where the compute nodes can see it: under `workdir` when one is given, and
    never node-local when the job spans more than one node."""
    if settings.workdir:
        workdir = Path(settings.workdir).absolute()
        if not cwd.absolute().is_relative_to(workdir):
            raise PatchmergeError(
                f"the workspace {cwd} is not under {SECTION}.workdir {workdir}, the folder the compute nodes see: "
                "give --state-dir (bisect) or --workspace (check) under it"
            )
    local = node_local(cwd)
    if local and settings.nodes > 1:
        raise PatchmergeError(
            f"the workspace {cwd} is {local}, which the other nodes of a {settings.nodes}-node job cannot see: "
            f"give --state-dir (bisect) or --workspace (check) on a shared filesystem, or set {SECTION}.workdir"
        )


def node_local(path: Path) -> str | None:
    """Why `path` is seen by this machine only (a per-node folder or a memory filesystem), or None."""
    resolved = Path(os.path.abspath(path))
    for folder in NODE_LOCAL_DIRS:
        if resolved == Path(folder) or resolved.is_relative_to(folder):
            return f"under {folder}"
    fstype = _filesystem(resolved)
    return f"on a {fstype} filesystem" if fstype in NODE_LOCAL_FS else None


def _filesystem(path: Path) -> str | None:
    """The type of the filesystem holding `path`, from the longest matching mount point."""
    try:
        lines = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    best, kind = "", None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = fields[1].replace("\\040", " ")
        if (path == Path(mount) or path.is_relative_to(mount)) and len(mount) >= len(best):
            best, kind = mount, fields[2]
    return kind
