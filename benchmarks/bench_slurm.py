"""A bisect step through the Slurm runner: the time spent in patchmerge itself against the job's own time.

    python benchmarks/bench_slurm.py [--poll SECONDS]

Starts the tests' one-node Slurm (root, with Debian's slurmctld, slurmd, slurm-client and munge installed), runs
`bisect --jobs 1` on the bundled example's wrong patch JSON with a `[slurm]` table, and splits each step into:
- `prepare_seconds`: workspace and merge, up to the sbatch call (the same as a local step's);
- `sbatch_seconds`: the submission;
- `job_seconds`: from submission until patchmerge sees the job ended (queue, start, run, and the poll delay);
- `collect_seconds`: after the job: the log, the verdict, coverage, the state file;
- `model_seconds`: the model shell run locally in the same step's workspace (the job's own work).
`ratio_patchmerge_to_job` is (prepare + sbatch + collect) / job; `slurm_latency_seconds` is job - model.
Writes benchmarks/results/slurm-example.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean

from _common import REPO, code_version, machine, write_results

sys.path.insert(0, str(REPO))  # the tests' one-node Slurm
import patchmerge_slurm.runner as runner  # noqa: E402

from patchmerge.bisection import driver  # noqa: E402
from patchmerge.cli import main  # noqa: E402
from tests.plugins.slurm import cluster as slurm  # noqa: E402
from tests.plugins.slurm.profiles import example  # noqa: E402


def timed_runs(marks: dict[str, dict[str, float]]) -> None:
    """Note when each step starts and ends, when its run is submitted and when its job is seen ended (keyed by
    the step's workspace)."""
    submit, wait, step = runner.SlurmRun._submit, runner.SlurmRun._wait, driver.Bisector._run

    def timed_step(self: driver.Bisector, one: driver.Step, subset: frozenset[int]) -> object:
        marks.setdefault(one.workspace, {})["start"] = time.monotonic()
        verdict = step(self, one, subset)
        marks[one.workspace]["end"] = time.monotonic()
        return verdict

    def timed_submit(self: runner.SlurmRun) -> str:
        marks[str(self.run.cwd.parent)]["submit"] = time.monotonic()
        job_id = submit(self)
        marks[str(self.run.cwd.parent)]["submitted"] = time.monotonic()
        return job_id

    def timed_wait(self: runner.SlurmRun, job_id: str) -> tuple[object, bool]:
        end = wait(self, job_id)
        marks[str(self.run.cwd.parent)]["ended"] = time.monotonic()
        return end

    runner.SlurmRun._submit, runner.SlurmRun._wait = timed_submit, timed_wait  # type: ignore[method-assign]
    driver.Bisector._run = timed_step  # type: ignore[method-assign,assignment]


def model_seconds(workspace: Path) -> float:
    roots = [str(workspace / r) for r in ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(roots), "PYTHONPYCACHEPREFIX": str(workspace / ".pycache")}
    started = time.monotonic()
    subprocess.run(["bash", "examples/mini/pretrain_mini.sh"], cwd=workspace / "MindSpeed-LLM", env=env,
                   capture_output=True, check=False)  # fmt: skip
    return time.monotonic() - started


def main_bench() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--poll", type=float, default=0.5, help="slurm.poll_seconds")
    args = parser.parse_args()
    why = slurm.missing()
    if why:
        sys.exit(f"bench_slurm: {why}")
    base = Path(tempfile.mkdtemp(prefix="patchmerge-bench-slurm-"))
    base.chmod(0o755)  # munged's socket must be reachable
    cluster = slurm.start(base / "cluster")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    marks: dict[str, dict[str, float]] = {}
    timed_runs(marks)
    try:
        root, profile = example(base, job_name="pm-bench", poll_seconds=args.poll)
        state = base / "state"
        begin = time.monotonic()
        code = main(["bisect", str(root), str(root / "patches-broken.json"), "--profile", str(profile),
                     "--state-dir", str(state)])  # fmt: skip
        total = time.monotonic() - begin
        rows = []
        for step in json.loads((state / "result.json").read_text())["steps"]:
            mark = marks[step["workspace"]]
            rows.append({
                "prepare_seconds": mark["submit"] - mark["start"],
                "sbatch_seconds": mark["submitted"] - mark["submit"],
                "job_seconds": mark["ended"] - mark["submitted"],
                "collect_seconds": mark["end"] - mark["ended"],
                "model_seconds": model_seconds(Path(step["workspace"])),
            })  # fmt: skip
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    figures = {key: round(mean(r[key] for r in rows), 3) for key in rows[0]}
    own = figures["prepare_seconds"] + figures["sbatch_seconds"] + figures["collect_seconds"]
    write_results("slurm-example.json", {
        "code": code_version(), "machine": machine(), "bisect_exit": code, "steps": len(rows),
        "bisect_seconds": round(total, 2), "poll_seconds": args.poll, "mean_per_step": figures,
        "patchmerge_seconds_per_step": round(own, 3),
        "ratio_patchmerge_to_job": round(own / figures["job_seconds"], 2),
        "slurm_latency_seconds": round(figures["job_seconds"] - figures["model_seconds"], 3),
    })  # fmt: skip


if __name__ == "__main__":
    main_bench()
