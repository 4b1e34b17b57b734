"""`patchmerge check`: fuse into a workspace, run the model shell there, pass if the expected line shows up."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from patchmerge.check.model import CheckOptions, CheckResult, Verdict
from patchmerge.check.pipeline import run_check
from patchmerge.commands.merge import example_copy
from patchmerge.fusion.journal import refuse_interrupted
from patchmerge.fusion.transaction import MANIFEST_DIR
from patchmerge.profile import Profile
from patchmerge.session import EXAMPLE_PROFILE, Session, load_session_patches, open_session
from patchmerge.writable import read_only_note, state_path

EXIT_PASS, EXIT_FAIL, EXIT_MERGE_FAILED = 0, 1, 3


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags `check` and `bisect` share; each overrides the profile's [check] value."""
    parser.add_argument("--model-shell", metavar="S", help="the model shell, relative to MindSpeed-LLM")
    parser.add_argument("--pattern", metavar="P", help="the line that must appear (literal text by default)")
    parser.add_argument("--regex", action="store_true", default=None, help="--pattern is a regular expression")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="stop the script after this long")
    parser.add_argument(
        "--strict-merge", action="store_true", default=None, help="a patch the merge cannot fuse fails the check"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a profile key for this run, e.g. --set slurm.partition=debug (repeatable)",
    )  # fmt: skip


def open_tree(args: argparse.Namespace) -> Session:
    """The tree to check. A single file argument is a PATCH_JSON for the bundled example."""
    if args.root_dir is not None and args.patch_json is None and Path(args.root_dir).is_file():
        args.root_dir, args.patch_json = None, args.root_dir
    root_dir, profile = args.root_dir, args.profile
    if root_dir is None:
        root_dir, profile = str(example_copy()), profile or EXAMPLE_PROFILE
        print(f"using a copy of the bundled example: {root_dir}", file=sys.stderr)
    session = open_session(root_dir, profile, tuple(getattr(args, "set", ())))
    refuse_interrupted(session.root)  # before a patch JSON is collected from it or a bisect state is made
    return session


def check_options(profile: Profile, args: argparse.Namespace, *, echo: bool) -> CheckOptions:
    given = {
        "model_shell": args.model_shell,
        "pattern": args.pattern,
        "regex": args.regex,
        "timeout": args.timeout,
        "strict_merge": args.strict_merge,
    }
    check = dataclasses.replace(profile.check, **{key: value for key, value in given.items() if value is not None})
    return CheckOptions(
        model_shell=check.model_shell,
        pattern=check.pattern,
        regex=check.regex,
        timeout=check.timeout,
        log_files=check.log_files,
        shell_root=check.shell_root,
        strict_merge=check.strict_merge,
        echo=echo,
        write_dirs=check.write_dirs,
    )


def next_free(folder: Path, stem: str) -> Path:
    number = 1
    while (folder / f"{stem}-{number}").exists():
        number += 1
    return folder / f"{stem}-{number}"


def default_workspace(root: Path) -> Path:
    """ROOT_DIR/.patchmerge/check/run-N, or the same under the tree's cache folder when ROOT_DIR is read-only."""
    folder, moved = state_path(root, Path(MANIFEST_DIR) / "check")
    workspace = next_free(folder, "run")
    if moved:
        print(read_only_note("workspace", workspace), file=sys.stderr)
    return workspace


def run(args: argparse.Namespace) -> int:
    session = open_tree(args)
    patch_set = load_session_patches(session, args.patch_json)
    options = check_options(session.profile, args, echo=not args.json)
    workspace = Path(args.workspace) if args.workspace else default_workspace(session.root)
    result = run_check(session, patch_set, options, workspace)
    if args.json:
        print(json.dumps(result.document(), indent=2))
    else:
        print(verdict_text(result))
    if result.merge_failed:
        return EXIT_MERGE_FAILED
    return EXIT_PASS if result.verdict is Verdict.PASS else EXIT_FAIL


def verdict_text(result: CheckResult) -> str:
    lines = [f"check: {result.verdict.value.upper()}: {result.reason}"]
    if result.merge_report:
        lines.append(f"  merge report: {result.merge_report}")
    if result.log:
        lines.append(f"  log:          {result.log}")
        lines.append(f"  script exit:  {'none (stopped)' if result.script_exit is None else result.script_exit}")
    if result.job:
        job = " ".join(str(result.job[k]) for k in ("runner", "job_id", "state") if result.job.get(k) is not None)
        lines.append(f"  job:          {job}")
    lines.append(f"  seconds:      {result.seconds:.1f}")
    lines += [f"  warning:      {warning}" for warning in result.warnings]
    lines.append(f"  workspace:    {result.workspace}")
    if result.coverage:
        c = result.coverage
        lines.append(
            f"  coverage:     {c['patches_hit']}/{c['patches_total']} patches hit ({c['patch_ratio']:.1%}), "
            f"{c['modules_hit']}/{c['modules_total']} modules; {result.workspace / 'coverage-report' / 'coverage.html'}"
        )
    return "\n".join(lines)
