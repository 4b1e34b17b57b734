"""A real one-node Slurm for the tests: munged, slurmctld and slurmd started as plain processes (no systemd) from a
configuration written into a fresh folder, and stopped by their process ids."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo", "sacct", "scontrol")
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")  # daemons live there, and a user's PATH may lack it
READY_SECONDS = 30.0

CONF = """\
ClusterName=patchmerge-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/slurmctld.pid
SlurmdPidFile={base}/slurmd.pid
SlurmctldLogFile={base}/slurmctld.log
SlurmdLogFile={base}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc={base}/jobcomp.txt
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
KillWait=2
ReturnToService=2
MpiDefault=none
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def missing() -> str | None:
    """Why a one-node Slurm cannot be started here, or None."""
    absent = [name for name in DAEMONS if find(name) is None]
    if absent:
        return f"Slurm is not installed (missing {', '.join(absent)}; Debian: slurmctld slurmd slurm-client munge)"
    if os.geteuid() != 0:
        return "starting slurmd and munged as plain processes needs root"
    return None


def find(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN))


@dataclass
class Cluster:
    base: Path
    conf: Path
    host: str
    cpus: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def command(self, *argv: str) -> str:
        done = subprocess.run([find(argv[0]) or argv[0], *argv[1:]], env=self.env, capture_output=True, text=True)
        return done.stdout

    def queue(self, name: str) -> list[tuple[str, str]]:
        """(job id, state) of the jobs named `name` that squeue still shows (pending, running, completing)."""
        lines = self.command("squeue", "-h", "-n", name, "-o", "%i %T").split()
        return list(zip(lines[::2], lines[1::2], strict=True))

    def stop(self) -> None:
        for process in reversed(self.processes):  # slurmd, slurmctld, then munged
            for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                if process.poll() is not None:
                    break
                process.send_signal(sig)
                try:
                    process.wait(wait)
                except subprocess.TimeoutExpired:
                    continue
        self.processes.clear()


def start(base: Path) -> Cluster:
    """Write the configuration under `base` (empty: old state brings old jobs back) and start the daemons."""
    host = socket.gethostname().split(".")[0]
    cpus = os.cpu_count() or 1
    munge = base / "munge"
    for folder in (munge, base / "state", base / "spool"):
        folder.mkdir(parents=True)
    for folder in (base, munge):
        folder.chmod(0o755)  # slurm cannot reach a socket in a 700 folder ("Socket is inaccessible")
    conf = base / "slurm.conf"
    conf.write_text(
        CONF.format(
            host=host, ctld_port=_free_port(), slurmd_port=_free_port(), munge_socket=munge / "munge.socket",
            base=base, cpus=cpus, memory=_memory_mb() // 2,
        ),
        encoding="utf-8",
    )  # fmt: skip
    cluster = Cluster(base=base, conf=conf, host=host, cpus=cpus)
    key = munge / "munge.key"
    subprocess.run([find("mungekey"), "-c", "-f", "-k", str(key)], check=True, capture_output=True)
    try:
        cluster.processes.append(_daemon(cluster, base / "munged.out", "munged", "-F", f"--key-file={key}",
            f"--socket={munge / 'munge.socket'}", f"--pid-file={munge / 'munged.pid'}",
            f"--seed-file={munge / 'munge.seed'}", f"--log-file={munge / 'munged.log'}"))  # fmt: skip
        _wait_for(lambda: (munge / "munge.socket").exists(), "munged's socket", base / "munged.out", cluster)
        cluster.processes.append(_daemon(cluster, base / "slurmctld.out", "slurmctld", "-D", "-i", "-f", str(conf)))
        cluster.processes.append(_daemon(cluster, base / "slurmd.out", "slurmd", "-D", "-f", str(conf)))
        _wait_for(lambda: cluster.command("sinfo", "-h", "-N", "-o", "%t").strip() == "idle", "an idle node",
                  base / "slurmctld.log", cluster)  # fmt: skip
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _daemon(cluster: Cluster, out: Path, name: str, *argv: str) -> subprocess.Popen[bytes]:
    with open(out, "wb") as handle:
        return subprocess.Popen([find(name) or name, *argv], env=cluster.env, stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)  # fmt: skip


def _wait_for(ready: object, what: str, log: Path, cluster: Cluster) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline and all(p.poll() is None for p in cluster.processes):
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log.is_file() else "(no log)"
    raise RuntimeError(f"the test Slurm did not come up: no {what} after {READY_SECONDS:g} s; {log}:\n{tail}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 1024
