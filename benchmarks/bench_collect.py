"""`collect` against parsing the files it reads.

    python benchmarks/bench_collect.py ROOT_DIR [--profile P] [--repeat N]
    python benchmarks/bench_collect.py                      # the bundled example

Timed, best of `--repeat`, in this process: `patchmerge.collection.collect(root, profile)` (read, parse with `ast`,
follow the adaptor's calls, write nothing), then reading and `ast.parse` of exactly the files it read, and
`libcst.parse_module` of the same files (what a libcst-based reader would pay before doing anything).
`ratio_collect_to_ast_parse` near 1 means following the registrations costs little beyond parsing once.
Writes benchmarks/results/collect-PROFILE.json.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import libcst
from _common import best_of, code_version, machine, write_results

from patchmerge import bundled
from patchmerge.collection import collect
from patchmerge.profile import load_profile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root_dir", nargs="?")
    parser.add_argument("--profile")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(args.root_dir) if args.root_dir else bundled.example_root()
    profile = load_profile(args.profile or ("mindspeed-llm-core-r0.8.0" if args.root_dir else "example"))
    result = collect(root, profile)
    files = result.paths_read
    seconds = best_of(args.repeat, lambda: collect(root, profile))
    parse = best_of(args.repeat, lambda: [ast.parse(p.read_bytes()) for p in files])
    cst = best_of(1, lambda: [libcst.parse_module(p.read_bytes()) for p in files])
    write_results(
        f"collect-{profile.name}.json",
        {
            "tree": profile.name,
            "patches": len(result.patch_set),
            "targets": len(result.patch_set.targets),
            "unreadable": len(result.unreadable),
            "dead": len(result.dead),
            "files_read": len(files),
            "collect_seconds": round(seconds, 4),
            "ast_parse_seconds": round(parse, 4),
            "libcst_parse_seconds": round(cst, 4),
            "ratio_collect_to_ast_parse": round(seconds / parse, 2),
            "ratio_collect_to_libcst_parse": round(seconds / cst, 3),
            "code": code_version(),
            "machine": machine(),
        },
    )


if __name__ == "__main__":
    main()
