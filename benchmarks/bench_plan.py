"""Plan speed as a ratio to parsing, with libcst, exactly the files the plan read.

    python benchmarks/bench_plan.py [ROOT_DIR PATCH_JSON] [--profile P] [--repeat N]

Both are measured in this one run, so the ratio holds on a shared, noisy machine where seconds do not.
Writes benchmarks/results/plan.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import libcst

from patchmerge.planning import PlanContext, build_plan
from patchmerge.session import load_session_patches, open_session

RESULTS = Path(__file__).resolve().parent / "results"


def best_of(repeat: int, action) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root_dir", nargs="?")
    parser.add_argument("patch_json", nargs="?")
    parser.add_argument("--profile")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    session = open_session(args.root_dir, args.profile)
    patch_set = load_session_patches(session, args.patch_json)

    def plan_once(cache: bool) -> PlanContext:
        os.environ["PATCHMERGE_NO_CACHE"] = "0" if cache else "1"
        context = PlanContext.create(session.root, session.profile, session.pm)
        build_plan(patch_set, context)
        return context

    context = plan_once(cache=True)  # also warms the per-user cache
    files = sorted(context.tree.files_read | context.tree.files_cached)
    sources = []
    unparsable = []
    for path in files:
        try:  # a file Python itself cannot decode is not something libcst could rewrite either
            libcst.parse_module(path.read_bytes())
            sources.append(path.read_bytes())
        except (libcst.ParserSyntaxError, UnicodeDecodeError):
            unparsable.append(str(path.relative_to(session.root)))
    cold = best_of(args.repeat, lambda: plan_once(cache=False))
    warm = best_of(args.repeat, lambda: plan_once(cache=True))
    parse = best_of(args.repeat, lambda: [libcst.parse_module(s) for s in sources])
    result = {
        "tree": "bundled example" if session.is_example else session.root.name,
        "patches": len(patch_set),
        "files_read": len(files),
        "files_libcst_cannot_parse": unparsable,
        "plan_seconds_no_cache": round(cold, 3),
        "plan_seconds_cached": round(warm, 3),
        "libcst_parse_seconds": round(parse, 3),
        "ratio_plan_no_cache_to_parse": round(cold / parse, 3),
        "ratio_plan_cached_to_parse": round(warm / parse, 3),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}",
    }
    RESULTS.mkdir(exist_ok=True)
    name = "plan-example.json" if session.is_example else "plan.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
