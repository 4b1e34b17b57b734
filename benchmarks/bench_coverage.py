"""Coverage over ~1 GB of worker logs: throughput and peak memory, against reading the same bytes.

    python benchmarks/bench_coverage.py [--size-mb N] [--workers N] [--repeat N]

Writes synthetic msrun logs (`worker_N.log`, every line tagged `[rankN]: `, mostly training noise, a probe line
now and then, some probes cut mid-line) and a patch JSON to a temp folder, then runs the real CLI
(`python -m patchmerge coverage ... --json`) in a subprocess, best of `--repeat`. Yardsticks, measured in the same
run over the same files: reading them in 8 MiB chunks doing nothing else (Python), and `grep -cF PREFIX` when
grep exists. The files were just written, so they are read from the page cache: this measures the CPU cost of
coverage, not the disk. The same CLI over a one-line log gives the fixed cost (start-up, plugins, reports),
and the throughput beyond it. Peak RSS is the coverage subprocess's (getrusage RUSAGE_CHILDREN, taken before any
yardstick subprocess runs), next to a run over a tiny log, to show memory does not grow with the logs.
The temp folder is deleted at the end. Writes benchmarks/results/coverage.json.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import best_of, code_version, machine, write_results

PREFIX = "[patchmerge-probe]"
TARGETS = 200
PATCHES_PER_TARGET = 2
NOISE = (
    "iteration {i:8d}/ 100000 | consumed samples: {s:12d} | elapsed time per iteration (ms): 1234.5 | "
    "learning rate: 2.999E-05 | global batch size: 128 | lm loss: 2.345678E+00 | grad norm: 1.234 |",
    "[2025-01-01 12:00:00,123] [INFO] [mindspeed] saving checkpoint at iteration {i} to ./ckpt (rank {s})",
    "WARNING: tensor core fallback for op MatMul{i} shape [{s}, 4096] dtype bfloat16",
    "  0%|          | {i}/{s} [00:00<?, ?it/s]",
)


def patch_json() -> dict[str, list[dict]]:
    return {
        f"'megatron.core.m{t % 40}.f{t}'": [{"patch_import": f"mindspeed.p{t}.p{k}"} for k in range(PATCHES_PER_TARGET)]
        for t in range(TARGETS)
    }


def probe(target: int, index: int | str) -> str:
    tid = f"megatron.core.m{target % 40}.f{target}"
    payload = {"id": f"{tid}#{index}", "target": tid, "patch_import": "", "condition": "", "module": tid[:-1]}
    return f"{PREFIX} {json.dumps({**payload, 'rank': None, 'pid': 4242})}"


def write_logs(folder: Path, size: int, workers: int, rng: random.Random) -> tuple[set[str], int]:
    """Each worker hits a random half of the branches, its probes spread over the file, one in 20 cut by
    another process's output. Returns the patch ids hit and the number of cut probes."""
    hit: set[str] = set()
    cut = 0
    per_worker = size // workers
    for rank in range(workers):
        tag = f"[rank{rank}]: "
        block = "".join(tag + rng.choice(NOISE).format(i=i, s=i * 7) + "\n" for i in range(8000)).encode()
        probes = []
        for t in range(TARGETS):
            index = rng.randrange(PATCHES_PER_TARGET + 1)  # PATCHES_PER_TARGET: the original ran
            index_text = "original" if index == PATCHES_PER_TARGET else str(index)
            line = probe(t, index_text)
            if rng.random() < 0.05:
                cut += 1
                line = line[: rng.randrange(len(PREFIX) + 2, len(line) - 1)] + "  0%|  | 3/9 [00:01<?, ?it/s]"
            elif index_text != "original":
                hit.add(f"megatron.core.m{t % 40}.f{t}#{index_text}")
            probes.append((tag + line + "\n").encode())
        blocks = max(1, per_worker // len(block))
        with open(folder / f"worker_{rank}.log", "wb") as stream:
            for b in range(blocks):
                stream.write(block)
                for line in probes[b * len(probes) // blocks : (b + 1) * len(probes) // blocks]:
                    stream.write(line)
    return hit, cut


def run_coverage(json_file: Path, logs: Path, out: Path) -> dict:
    command = [sys.executable, "-m", "patchmerge", "coverage", "--json-file", str(json_file)]
    command += ["--log-file", str(logs), "--output-dir", str(out), "--json"]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def read_only(files: list[Path]) -> None:
    for path in files:
        with open(path, "rb", buffering=0) as stream:
            while stream.read(8 << 20):
                pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    temp = Path(tempfile.mkdtemp(prefix="patchmerge-bench-coverage-"))
    try:
        json_file = temp / "patches.json"
        json_file.write_text(json.dumps(patch_json()))
        tiny = temp / "tiny"
        tiny.mkdir()
        (tiny / "worker_0.log").write_text(probe(0, 0) + "\n")
        startup = best_of(args.repeat, lambda: run_coverage(json_file, tiny, temp / "report-tiny"))
        rss_tiny = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        logs = temp / "msrun_log"
        logs.mkdir()
        started = time.perf_counter()
        hit, cut = write_logs(logs, args.size_mb << 20, args.workers, random.Random(1234))
        generate = time.perf_counter() - started
        files = sorted(logs.iterdir())
        size = sum(f.stat().st_size for f in files)
        document: dict = {}

        def once() -> None:
            document.update(run_coverage(json_file, logs, temp / "report"))

        seconds = best_of(args.repeat, once)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
        problems = []
        if {r["id"] for r in document["patches"] if r["hit"]} != hit:
            problems.append("patches hit differ from the generated ones")
        if document["lines_damaged"] != cut:
            problems.append(f"lines_damaged {document['lines_damaged']} != {cut} cut probes")
        read = best_of(args.repeat, lambda: read_only(files))
        grep = None
        if shutil.which("grep"):
            grep = best_of(
                args.repeat,
                lambda: subprocess.run(["grep", "-cF", PREFIX, *map(str, files)], capture_output=True, check=False),
            )
        mb = size / 1e6
        result = {
            "what": "patchmerge coverage (CLI subprocess) over synthetic msrun worker logs, warm page cache",
            "log_bytes": size,
            "log_files": len(files),
            "probe_lines": sum(log["probes"] + log["damaged"] for log in document["logs"]),
            "patches_total": document["patches_total"],
            "patches_hit": document["patches_hit"],
            "lines_damaged": document["lines_damaged"],
            "generate_seconds": round(generate, 2),
            "coverage_seconds": round(seconds, 3),
            "coverage_mb_per_s": round(mb / seconds, 1),
            # the same CLI over a one-line log: interpreter start, imports, plugins, patch JSON, reports
            "coverage_seconds_tiny_log": round(startup, 3),
            "coverage_mb_per_s_beyond_tiny": round(mb / (seconds - startup), 1) if seconds > startup else None,
            "read_only_seconds": round(read, 3),
            "read_only_mb_per_s": round(mb / read, 1),
            "grep_count_seconds": None if grep is None else round(grep, 3),
            "ratio_coverage_to_read_only": round(seconds / read, 2),
            "ratio_coverage_to_grep_count": None if grep is None else round(seconds / grep, 2),
            "peak_rss_mb": round(rss / 1024, 1),
            "peak_rss_mb_tiny_log": round(rss_tiny / 1024, 1),
            "problems": problems,
            "code": code_version(),
            "machine": machine(),
        }
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    write_results("coverage.json", result)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
