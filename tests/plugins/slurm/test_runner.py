"""`check` through the Slurm runner against a real one-node Slurm: job states mapped to verdicts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from patchmerge.check.model import Verdict
from patchmerge.check.pipeline import run_check
from patchmerge.cli import main
from patchmerge.commands.check import check_options
from patchmerge.session import load_session_patches, open_session
from tests.interrupts import default_ctrl_c
from tests.plugins.slurm.cluster import Cluster
from tests.plugins.slurm.profiles import example, model_tree

pytestmark = pytest.mark.usefixtures("cluster")


def check_json(root: Path, profile: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    code = main(["check", str(root), "--profile", str(profile), "--json", "--workspace", str(root.parent / "ws"),
                 *extra])  # fmt: skip
    return code, json.loads(capsys.readouterr().out)


def check_in_process(root: Path, profile: Path, workspace: Path):
    session = open_session(str(root), str(profile))
    args = type("Args", (), dict.fromkeys(("model_shell", "pattern", "regex", "timeout", "strict_merge")))()
    options = check_options(session.profile, args, echo=False)
    return run_check(session, load_session_patches(session, None), options, workspace)


def wait_for_job(cluster: Cluster, name: str, state: str, *, not_id: str = "", seconds: float = 60.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for job_id, job_state in cluster.queue(name):
            if job_state == state and job_id != not_id:
                return job_id
        time.sleep(0.2)
    raise AssertionError(f"no {state} job named {name} within {seconds:g} s")


def test_a_passing_check_runs_as_a_job(tmp_path: Path, cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    root, profile = example(tmp_path, job_name="pm-pass")
    code, document = check_json(root, profile, capsys)
    assert code == 0 and document["verdict"] == "pass", document["reason"]
    job = document["job"]
    assert job["runner"] == "slurm" and job["state"] == "COMPLETED" and job["exit_code"] == "0:0"
    assert "iteration 3/3" in Path(document["log"]).read_text()  # the job's output is the step's log
    assert f"Slurm job {job['job_id']} COMPLETED" in document["reason"]
    assert document["coverage"]["patches_hit"] > 0  # the probes of the job's output are read as before
    assert "pm-pass" in cluster.command("scontrol", "show", "job", job["job_id"])


def test_the_job_output_is_shown_as_it_comes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, profile = model_tree(tmp_path, "echo first line\nsleep 1\necho second line\n", job_name="pm-echo")
    assert main(["check", str(root), "--profile", str(profile), "--workspace", str(tmp_path / "ws")]) == 1
    out = capsys.readouterr().out
    assert "first line\nsecond line\n" in out and "check: FAIL" in out
    assert re.search(r"job:\s+slurm \d+ COMPLETED", out), out


def test_a_failing_script_fails_with_its_exit_status(
    tmp_path: Path, cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    root, profile = model_tree(tmp_path, "echo about to fail on $(hostname)\nexit 3\n", job_name="pm-other")
    code, document = check_json(root, profile, capsys, "--set", "slurm.job_name=pm-fail")  # the CLI wins
    assert code == 1 and document["verdict"] == "fail" and document["script_exit"] == 3
    assert document["job"]["state"] == "FAILED" and document["job"]["exit_code"] == "3:0"
    assert document["reason"] == f"the model script exited with status 3 (Slurm job {document['job']['job_id']} FAILED)"
    assert f"about to fail on {cluster.host}" in Path(document["log"]).read_text()
    assert "JobName=pm-fail\n" in cluster.command("scontrol", "show", "job", document["job"]["job_id"])


def test_a_wrong_patch_fails_the_check_on_the_pattern(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, profile = example(tmp_path, job_name="pm-wrong")
    code, document = check_json(root / "patches-broken.json", profile, capsys)
    assert code == 1 and document["job"]["state"] == "COMPLETED" and "not found" in document["reason"]


def test_exit_125_is_skip(tmp_path: Path) -> None:
    root, profile = model_tree(tmp_path, "exit 125\n", job_name="pm-skip")
    result = check_in_process(root, profile, tmp_path / "ws")
    assert result.verdict is Verdict.SKIP and result.script_exit == 125
    assert result.job is not None and result.job["state"] == "FAILED"


def test_patchmerge_timeout_cancels_its_job(
    tmp_path: Path, cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    root, profile = model_tree(tmp_path, "sleep 120\n", job_name="pm-timeout")
    code, document = check_json(root, profile, capsys, "--timeout", "2")
    assert code == 1 and document["script_exit"] is None
    job_id = document["job"]["job_id"]
    expected = f"the model script was stopped at the timeout (2 s of running; Slurm job {job_id} cancelled)"
    assert document["reason"] == expected
    assert cluster.queue("pm-timeout") == []


def test_a_job_over_its_time_limit_fails_as_a_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the one slow test: Slurm rounds the limit up to a minute and looks about every 30 s (72-83 s in all)
    root, profile = model_tree(tmp_path, "sleep 300\n", job_name="pm-limit", time="1")
    code, document = check_json(root, profile, capsys, "--timeout", "600")  # Slurm's limit comes first
    assert code == 1 and document["verdict"] == "fail" and document["script_exit"] is None
    assert document["job"]["state"] == "TIMEOUT"
    assert "Slurm job" in document["reason"] and "TIMEOUT: over its time limit of 1 min" in document["reason"]


def test_a_job_cancelled_from_outside_is_retried_then_skipped(tmp_path: Path, cluster: Cluster) -> None:
    root, profile = model_tree(tmp_path, "sleep 120\n", job_name="pm-lost")
    with ThreadPoolExecutor(1) as pool:
        checking = pool.submit(check_in_process, root, profile, tmp_path / "ws")
        first = wait_for_job(cluster, "pm-lost", "RUNNING")
        cluster.command("scancel", first)
        second = wait_for_job(cluster, "pm-lost", "RUNNING", not_id=first)
        cluster.command("scancel", second)
        result = checking.result(timeout=120)
    assert result.verdict is Verdict.SKIP
    assert result.reason == (
        f"Slurm job {second} ended CANCELLED after job {first} CANCELLED: a run the cluster lost cannot be judged"
    )
    assert [a["job_id"] for a in result.job["attempts"]] == [first, second]


def test_ctrl_c_during_a_queued_job_cancels_it_and_nothing_else(tmp_path: Path, cluster: Cluster) -> None:
    blocker = cluster.command("sbatch", "--parsable", "-J", "pm-blocker", "-c", str(cluster.cpus), "-o", "/dev/null",
                              "--wrap", "sleep 300").strip()  # fmt: skip
    try:
        wait_for_job(cluster, "pm-blocker", "RUNNING")
        root, profile = model_tree(tmp_path, "echo ran\n", job_name="pm-ctrlc")
        child = subprocess.Popen(
            [sys.executable, "-m", "patchmerge", "check", str(root), "--profile", str(profile)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_ctrl_c,
        )  # fmt: skip
        job_id = wait_for_job(cluster, "pm-ctrlc", "PENDING")
        child.send_signal(2)  # SIGINT, as Ctrl-C sends it
        output, _ = child.communicate(timeout=60)
        assert child.returncode != 0 and f"slurm: cancelled job {job_id}" in output, output
        assert cluster.queue("pm-ctrlc") == []
        assert [state for _, state in cluster.queue("pm-blocker")] == ["RUNNING"]  # not ours: left alone
    finally:
        cluster.command("scancel", blocker)


def test_stop_event_cancels_the_job(tmp_path: Path, cluster: Cluster) -> None:
    """A bisect that stops while runs are out sets the event every runner watches."""
    root, profile = model_tree(tmp_path, "sleep 120\n", job_name="pm-stop")
    session = open_session(str(root), str(profile))
    args = type("Args", (), dict.fromkeys(("model_shell", "pattern", "regex", "timeout", "strict_merge")))()
    stop, options = threading.Event(), check_options(session.profile, args, echo=False)
    with ThreadPoolExecutor(1) as pool:
        patch_set = load_session_patches(session, None)
        checking = pool.submit(run_check, session, patch_set, options, tmp_path / "ws", stop=stop)
        wait_for_job(cluster, "pm-stop", "RUNNING")
        stop.set()
        with pytest.raises(Exception, match="cancelled: the bisect stopped"):
            checking.result(timeout=60)
    assert cluster.queue("pm-stop") == []


class _Killed(BaseException):
    """patchmerge killed right there."""


def _unrecorded_run(tmp_path: Path, cluster: Cluster, command: str, record=None, on_record=None):
    from patchmerge.plugin_types import ModelRun

    step = tmp_path / "step"
    step.mkdir(exist_ok=True)
    return ModelRun(("sh", "-c", command), step, cluster.env, step / "log", 60.0, echo=False, record=record,
                    on_record=on_record)


def test_a_job_submitted_but_never_recorded_waits_held_and_the_next_run_takes_it_over(
    tmp_path: Path, cluster: Cluster
) -> None:
    """patchmerge killed between sbatch and recording the job id: the job never runs on its own (it waits, held),
    and the step's next run takes it over instead of submitting a second one; a held job of another command in
    that folder is cancelled."""
    from patchmerge_slurm.runner import SlurmRun
    from patchmerge_slurm.settings import SlurmSettings

    settings = SlurmSettings(job_name="pm-unrecorded", poll_seconds=0.5)

    def killed(record):
        raise _Killed

    with pytest.raises(_Killed):  # a held job of another command in the same folder: cancelled below
        SlurmRun(_unrecorded_run(tmp_path, cluster, "echo other", on_record=killed), settings).outcome()
    with pytest.raises(_Killed):
        SlurmRun(_unrecorded_run(tmp_path, cluster, "echo first", on_record=killed), settings).outcome()
    held = cluster.command("squeue", "-h", "-n", "pm-unrecorded", "-o", "%i %T %r").split()
    assert held[1:] == ["PENDING", "JobHeldUser"], held
    records = []
    outcome = SlurmRun(_unrecorded_run(tmp_path, cluster, "echo first", on_record=records.append), settings).outcome()
    assert outcome.exit_status == 0 and records[-1]["job_id"] == held[0]
    assert (tmp_path / "step" / "log").read_text() == "first\n"
    jobs = cluster.command("sacct", "-c", "-n", "-P", "-o", "JobID,JobName,State").splitlines()
    ours = sorted((line.split("|")[0] for line in jobs if "|pm-unrecorded|" in line), key=int)
    assert len(ours) == 2 and ours[1] == held[0], jobs  # the other command's, cancelled, and the one taken over
    assert cluster.queue("pm-unrecorded") == []


def test_a_recorded_job_still_held_is_released_by_the_next_run(tmp_path: Path, cluster: Cluster) -> None:
    """patchmerge killed after recording the job but before releasing it: the next run releases and waits."""
    from patchmerge_slurm.runner import SlurmRun
    from patchmerge_slurm.settings import SlurmSettings
    from patchmerge_slurm.slurm import Slurm

    settings = SlurmSettings(job_name="pm-recorded-held", poll_seconds=0.5)
    recorded = []

    class StopAtRelease(Slurm):
        def release(self, job_id: str) -> None:
            raise _Killed

    first = _unrecorded_run(tmp_path, cluster, "echo once", on_record=recorded.append)
    with pytest.raises(_Killed):
        SlurmRun(first, settings, StopAtRelease(cluster.env)).outcome()
    outcome = SlurmRun(_unrecorded_run(tmp_path, cluster, "echo once", record=recorded[-1]), settings).outcome()
    assert outcome.exit_status == 0 and (tmp_path / "step" / "log").read_text() == "once\n"
    assert len(cluster.queue("pm-recorded-held")) == 0
