"""Making a check/bisect workspace against copying the tree, on a Megatron-sized tree.

    python benchmarks/bench_workspace.py [ROOT_DIR PATCH_JSON] [--profile P] [--files N] [--repeat N]

Without ROOT_DIR: a generated tree of `--files` (default 2,000) Python files of 6 KiB under three source roots,
about 5 per folder as in the real roots (2,975 files in 574 folders), and a merge that rewrites 84 of them in 38
folders of a few packages, as the real r0.8.0 merge does (84 files in 38 folders, 55 folders with their parents).
With ROOT_DIR and PATCH_JSON: the real tree, and the files the real merge of PATCH_JSON writes
(computed in memory first).

Timed, best of `--repeat`, each into a fresh folder on the same filesystem:
- `cp_r_seconds`: `cp -r` of the source roots (the yardstick);
- `hardlink_all_seconds`: `cp -al` of the roots (every file a hard link: what SPEC 5 says is only ~2x faster);
- `workspace_seconds`: `patchmerge.workspace.create_workspace` plus `materialise` of every file the merge writes,
  which is all a check does before the merge writes them.
`ratio_cp_r_to_workspace` is the goal figure (at least 20). Writes benchmarks/results/workspace[-generated].json.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

from _common import best_of, code_version, machine, write_results

from patchmerge.workspace import create_workspace

ROOTS = ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")
SHARE = (0.6, 0.25, 0.15)  # how the files spread over the roots, roughly as in the real trees
REWRITTEN = 84
REWRITTEN_FOLDERS = 38


def generate(root: Path, files: int) -> list[Path]:
    """Shaped like the real roots (about 5 files per folder, folders 3 to 4 deep) and like the real merge
    (84 files written, 2 each in 42 folders)."""
    rng = random.Random(7)
    body = ("def f(x):\n    return x + 1\n" * 200)[:6144]
    folders: dict[Path, list[Path]] = {}
    for name, share in zip(ROOTS, SHARE, strict=True):
        count = int(files * share)
        for i in range(count):
            folder = Path(name) / "pkg" / f"a{i // 125}" / f"b{i // 25 % 5}" / f"c{i // 5 % 5}"
            (root / folder).mkdir(parents=True, exist_ok=True)
            path = folder / f"m{i}.py"
            (root / path).write_text(body)
            folders.setdefault(folder, []).append(path)
    # the real merge writes into a few packages (megatron/core/transformer, ...): 38 folders under 55 in all
    clustered = sorted(f for f in folders if f.parts[2] in ("a0", "a1"))
    chosen = rng.sample(clustered, REWRITTEN_FOLDERS)
    paths = [path for folder in chosen for path in folders[folder][:3]]
    return sorted(rng.sample(paths, REWRITTEN))


def real_rewrites(root: Path, patch_json: Path, profile: str | None) -> list[Path]:
    from patchmerge.fusion.engine import merge
    from patchmerge.session import load_session_patches, open_session

    session = open_session(str(root), profile)
    result = merge(session, load_session_patches(session, str(patch_json)))
    return [edit.path for edit in result.edits]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root_dir", nargs="?")
    parser.add_argument("patch_json", nargs="?")
    parser.add_argument("--profile")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="patchmerge-bench-ws-"))
    try:
        if args.root_dir:
            root = Path(args.root_dir).resolve()
            rewritten = real_rewrites(root, Path(args.patch_json), args.profile)
            tree = "real"
        else:
            root = scratch / "origin"
            rewritten = generate(root, args.files)
            tree = f"generated, {args.files} files"
        counter = iter(range(10**6))

        def fresh() -> Path:
            return scratch / f"out-{next(counter)}"

        def copy_tree(*flags: str) -> None:
            target = fresh()
            target.mkdir()
            subprocess.run(["cp", *flags, *(str(root / r) for r in ROOTS), str(target)], check=True)

        def workspace() -> None:
            made = create_workspace(root, ROOTS, fresh())
            for path in rewritten:
                made.materialise(path)

        cp_r = best_of(args.repeat, lambda: copy_tree("-r"))
        hardlinks = best_of(args.repeat, lambda: copy_tree("-al"))
        linked = best_of(args.repeat, workspace)
        files = sum(1 for r in ROOTS for p in (root / r).rglob("*") if p.is_file())
        write_results(
            "workspace.json" if args.root_dir else "workspace-generated.json",
            {
                "tree": tree,
                "files": files,
                "files_rewritten": len(rewritten),
                "cp_r_seconds": round(cp_r, 4),
                "hardlink_all_seconds": round(hardlinks, 4),
                "workspace_seconds": round(linked, 4),
                "ratio_cp_r_to_hardlink_all": round(cp_r / hardlinks, 1),
                "ratio_cp_r_to_workspace": round(cp_r / linked, 1),
                "goal": "ratio_cp_r_to_workspace >= 20",
                "code": code_version(),
                "machine": machine(),
            },
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
