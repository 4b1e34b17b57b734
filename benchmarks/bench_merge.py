"""Merge speed as a ratio to parsing and printing, with libcst, exactly the files the merge touched.

    python benchmarks/bench_merge.py [ROOT_DIR PATCH_JSON] [--profile P] [--repeat N]

ROOT_DIR is never merged in place: it is copied to a temp folder first (default: the bundled example with the
"example" profile). Timed: the merge computation (`engine.merge`, in memory: plan, fuse, validate) and the
all-or-nothing write of its edits into a fresh copy (`transaction.commit_edits`). The yardstick is what any
libcst-based rewriter pays at least: `libcst.parse_module(original).code` for every file the merge changed, with
the cyclic GC paused as the merge pauses it.
Both are measured in this one run, so the ratio holds on a shared, noisy machine where seconds do not.
Writes benchmarks/results/merge.json (a real tree) or merge-example.json (the bundled example).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import libcst
from _common import best_of, code_version, machine, tree_arguments, write_results

from patchmerge import bundled
from patchmerge.fusion.engine import merge
from patchmerge.fusion.model import MergeResult, Outcome
from patchmerge.fusion.transaction import MANIFEST_DIR, commit_edits
from patchmerge.gc_paused import gc_paused
from patchmerge.session import EXAMPLE_PROFILE, load_session_patches, open_session


def copy_tree(source: Path, scratch: Path, name: str) -> Path:
    target = scratch / name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", MANIFEST_DIR), symlinks=True)
    return target


def parse_and_print(sources: list[str]) -> list[str]:
    """The yardstick, under the cyclic GC paused as the merge runs (a libcst rewriter could pause it too)."""
    with gc_paused():
        return [libcst.parse_module(source).code for source in sources]


def main() -> None:
    args = tree_arguments()
    is_example = args.root_dir is None
    source = bundled.example_root() if is_example else Path(args.root_dir)
    profile = args.profile or (EXAMPLE_PROFILE if is_example else None)

    with tempfile.TemporaryDirectory(prefix="patchmerge-bench-merge-") as scratch_name:
        scratch = Path(scratch_name)
        # the per-file index cache lives in this run's scratch folder: "cached" means warmed by this run only
        os.environ["XDG_CACHE_HOME"] = str(scratch / "cache")
        work = copy_tree(source, scratch, "root")
        session = open_session(str(work), profile)
        patch_set = load_session_patches(session, args.patch_json)

        def merge_once(cache: bool) -> MergeResult:
            os.environ["PATCHMERGE_NO_CACHE"] = "0" if cache else "1"
            return merge(session, patch_set)

        result = merge_once(cache=True)  # also warms the cache
        merge_cold = best_of(args.repeat, lambda: merge_once(cache=False))
        merge_warm = best_of(args.repeat, lambda: merge_once(cache=True))

        # the write: each repetition into a fresh copy (the copy is not timed), as a real first merge would be
        meta = {"patch_file": patch_set.source.name, "profile": session.profile.name}
        commit_times = []
        for index in range(args.repeat):
            target = copy_tree(source, scratch, f"commit-{index}")
            started = time.perf_counter()
            commit_edits(target, result.edits, meta)
            commit_times.append(time.perf_counter() - started)
            written = sum((target / e.path).read_bytes() == e.new for e in result.edits)
            assert written == len(result.edits), "commit_edits did not write every edit"
            shutil.rmtree(target)
        commit = min(commit_times)

    originals = [e.original for e in result.edits if e.original is not None]
    created = [str(e.path) for e in result.edits if e.original is None]
    unparsable = []
    sources = []
    for edit in result.edits:
        if edit.original is None:
            continue
        try:
            libcst.parse_module(edit.original)
            sources.append(edit.original)
        except (libcst.ParserSyntaxError, UnicodeDecodeError):
            unparsable.append(str(edit.path))
    parse_print = best_of(args.repeat, lambda: parse_and_print(sources))
    outcomes = Counter(o.outcome.value for o in result.outcomes)
    report = {
        "tree": "bundled example" if is_example else "/".join(source.resolve().parts[-2:]),
        "profile": session.profile.name,
        "patch_file": patch_set.source.name,
        "patches": len(patch_set),
        "patches_fused": outcomes.get(Outcome.FUSED.value, 0),
        "outcomes": dict(sorted(outcomes.items())),
        "files_touched": len(result.edits),
        "files_created": created,
        "bytes_touched_before": sum(len(o) for o in originals),
        "files_libcst_cannot_parse": unparsable,
        "merge_seconds_no_cache": round(merge_cold, 4),
        "merge_seconds_cached": round(merge_warm, 4),
        "commit_seconds": round(commit, 4),
        "libcst_parse_print_seconds": round(parse_print, 4),
        "ratio_merge_no_cache_plus_commit_to_parse_print": round((merge_cold + commit) / parse_print, 3),
        "ratio_merge_cached_plus_commit_to_parse_print": round((merge_warm + commit) / parse_print, 3),
        "ratio_merge_no_cache_to_parse_print": round(merge_cold / parse_print, 3),
        # plugins that are not built in change what a merge does (e.g. the MindSpeed-LLM reset_patch fixup)
        "plugins": sorted(
            Path(name).name for name, _ in session.pm.list_name_plugin() if not name.startswith("patchmerge.")
        ),
        "repeat": args.repeat,
        "code": code_version(),
        "machine": machine(),
    }
    write_results("merge-example.json" if is_example else "merge.json", report)


if __name__ == "__main__":
    main()
