"""`bisect` through the Slurm runner against a real one-node Slurm: two jobs in flight, and --resume after
patchmerge itself was killed waits for the jobs it had submitted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from patchmerge.cli import main
from tests.interrupts import default_ctrl_c
from tests.plugins.slurm.cluster import Cluster
from tests.plugins.slurm.profiles import example

pytestmark = pytest.mark.usefixtures("cluster")
CULPRIT = "megatron.core.transformer.torch_norm.WrappedTorchNorm.forward#0"


def bisect_argv(root: Path, profile: Path, state: Path, *extra: str) -> list[str]:
    return ["bisect", str(root), str(root / "patches-broken.json"), "--profile", str(profile),
            "--state-dir", str(state), *extra]  # fmt: skip


def steps(state: Path) -> list[dict]:
    try:
        return json.loads((state / "state.json").read_text())["steps"]
    except (OSError, ValueError):  # not written yet, or being replaced
        return []


def interval(step: dict) -> tuple[datetime, datetime]:
    job = step["job"]
    return datetime.fromisoformat(job["start"]), datetime.fromisoformat(job["end"])


def slowed(root: Path, seconds: int) -> None:
    """The example's model shell, made to take `seconds` longer: a step's job then outlasts the preparation of
    the next step's workspace (a few seconds, more on a loaded machine), so jobs of one round meet on the node."""
    shell = root / "MindSpeed-LLM" / "examples" / "mini" / "pretrain_mini.sh"
    text = shell.read_text(encoding="utf-8")
    shell.write_text(text.replace('\n"$PYTHON" ', f'\nsleep {seconds}\n"$PYTHON" ', 1), encoding="utf-8")


def test_bisect_with_two_jobs_in_flight_finds_the_wrong_patch(tmp_path: Path, cluster: Cluster) -> None:
    root, profile = example(tmp_path, job_name="pm-bisect")
    slowed(root, 12)
    state = tmp_path / "state"
    assert main(bisect_argv(root, profile, state, "--jobs", "2")) == 0
    result = json.loads((state / "result.json").read_text())
    assert result["culprits"] == [CULPRIT]
    jobs = [s["job"] for s in result["steps"] if s["model_run"]]
    assert all(j["runner"] == "slurm" and j["state"] in ("COMPLETED", "FAILED") for j in jobs)
    assert len({j["job_id"] for j in jobs}) == len(jobs) == result["runs"]
    # two steps of one round ran at the same time on the node
    timed = [interval(s) for s in result["steps"] if s["model_run"]]
    overlapping = [(a, b) for i, a in enumerate(timed) for b in timed[i + 1 :] if a[0] < b[1] and b[0] < a[1]]
    assert overlapping, timed
    assert cluster.queue("pm-bisect") == []


def test_resume_after_patchmerge_is_killed_waits_for_its_jobs(
    tmp_path: Path, cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    root, profile = example(tmp_path, job_name="pm-resume")
    state = tmp_path / "state"
    child = subprocess.Popen(
        [sys.executable, "-m", "patchmerge", *bisect_argv(root, profile, state, "--jobs", "2")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it as soon as a job of a second round is out
        out = [s for s in steps(state) if s["verdict"] is None and s["job"]]
        if out and len(steps(state)) > 1:
            break
        time.sleep(0.1)
    os.killpg(child.pid, signal.SIGKILL)  # a crash: nothing of patchmerge's own cleanup runs
    child.wait()
    left = {s["number"]: s["job"]["job_id"] for s in steps(state) if s["verdict"] is None and s["job"]}
    assert left, steps(state)

    assert main(bisect_argv(root, profile, state, "--jobs", "2", "--resume")) == 0
    result = json.loads((state / "result.json").read_text())
    assert result["culprits"] == [CULPRIT]
    after, said = {s["number"]: s for s in result["steps"]}, capsys.readouterr().err
    for number, job_id in left.items():  # waited for, not submitted again
        assert after[number]["job"]["job_id"] == job_id and after[number]["verdict"] is not None
        assert f"slurm: job {job_id} of the earlier run is" in said, said
    jobs = [s["job"]["job_id"] for s in result["steps"] if s["model_run"]]
    assert len(set(jobs)) == len(jobs) == result["runs"]
    submitted = cluster.command("sacct", "-c", "-n", "-P", "-o", "JobID,JobName").splitlines()
    ours = [line.split("|")[0] for line in submitted if line.endswith("|pm-resume")]
    assert sorted(ours, key=int) == sorted(jobs, key=int)  # no job beyond the steps' own


def test_ctrl_c_during_a_bisect_cancels_every_job_in_flight(tmp_path: Path, cluster: Cluster) -> None:
    root, profile = example(tmp_path, job_name="pm-bisect-int")
    state = tmp_path / "state"
    child = subprocess.Popen(
        [sys.executable, "-m", "patchmerge", *bisect_argv(root, profile, state, "--jobs", "2")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_ctrl_c,
    )  # fmt: skip
    blocker = ""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(s["verdict"] for s in steps(state)):
            time.sleep(0.05)
        # the first round is done: fill the node while the next two steps merge, so that both their jobs queue
        blocker = cluster.command("sbatch", "--parsable", "-J", "pm-blocker", "-c", str(cluster.cpus),
                                  "-o", "/dev/null", "--wrap", "sleep 300").strip()  # fmt: skip
        while time.monotonic() < deadline and len(cluster.queue("pm-bisect-int")) < 2:
            time.sleep(0.1)
        queued = [job_id for job_id, _ in cluster.queue("pm-bisect-int")]
        assert len(queued) == 2
        child.send_signal(signal.SIGINT)
        output, _ = child.communicate(timeout=60)
        assert child.returncode != 0 and "bisect: interrupted; continue with" in output, output
        assert all(f"slurm: cancelled job {job_id}" in output for job_id in queued), output
        assert cluster.queue("pm-bisect-int") == []
        assert [state for _, state in cluster.queue("pm-blocker")] == ["RUNNING"]  # not ours: left alone
    finally:
        child.kill()
        if blocker:
            cluster.command("scancel", blocker)
