"""What the benchmark scripts share: timing, the code and machine measured, and writing a results file.

The scripts are run as `python benchmarks/bench_*.py`, so this folder is on `sys.path` and they import this
module as `_common`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def tree_arguments() -> argparse.Namespace:
    """`[ROOT_DIR PATCH_JSON] [--profile P] [--repeat N]`, as bench_plan.py and bench_merge.py take them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("root_dir", nargs="?")
    parser.add_argument("patch_json", nargs="?")
    parser.add_argument("--profile")
    parser.add_argument("--repeat", type=int, default=3)
    return parser.parse_args()


def code_version() -> str | None:
    """The patchmerge commit measured (read-only git), marked when its code differs from that commit."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(REPO),
                "diff",
                "--no-ext-diff",
                "--quiet",
                "HEAD",
                "--",
                "patchmerge",
                "configs",
                "plugins",
                "benchmarks",
                ":(exclude)benchmarks/results",  # what a run writes
            ],
            capture_output=True,
        ).returncode
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + (" + uncommitted changes" if dirty else "")


def best_of(repeat: int, action: Callable[[], object]) -> float:
    """The shortest of `repeat` timed runs of `action`, in seconds. Each starts from a heap without the garbage
    of the one before (collected untimed), whose collection would be charged to whichever run set it off."""
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}"


def write_results(name: str, result: dict) -> None:
    """Write `result` to benchmarks/results/`name` and print it."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
