"""Sessions: `nox -s tests`, `nox -s plan -- ROOT_DIR [PATCH_JSON]`, `nox -s demo`, `nox -s lint`, `nox -s bench`,
`nox -s coverage -- --json-file J --log-file L`, `nox -s check|bisect -- [ROOT_DIR] [PATCH_JSON] [flags]`,
`nox -s collect -- ROOT_DIR [--profile P]`.
`patchmerge cut PATCH_JSON ...` needs no tree and no session: run it directly."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
# a missing python3.11 must fail the run, not skip every session and report success
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"
TOML_PLUGIN = "./plugins/patchmerge-toml-patches"
MINDSPEED_LLM_PLUGIN = "./plugins/patchmerge-mindspeed-llm"
SLURM_PLUGIN = "./plugins/patchmerge-slurm"  # runs go to Slurm only for a profile with a [slurm] table
EXAMPLE_PATCHES = "examples/mini/patches.json"
EXAMPLE_BROKEN = "examples/mini/patches-broken.json"  # one patch lost its condition: what bisect should find


def _install(session: nox.Session, *extra: str) -> None:
    session.install("-e", ".", *extra)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite (the installed TOML plugin is part of what it checks)."""
    _install(session, "pytest>=8", "nox")  # nox: the test of the noxfile itself imports it
    session.install("torch==2.13.0")  # CPU torch: the TorchScript test of fused code
    session.install(TOML_PLUGIN, MINDSPEED_LLM_PLUGIN, SLURM_PLUGIN)
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "patchmerge", "plugins", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHON)
def plan(session: nox.Session) -> None:
    """Explain every patch: `nox -s plan -- ROOT_DIR [PATCH_JSON] [--profile P] [--json]` (no ROOT_DIR: the example)."""
    _install(session)
    session.run("patchmerge", "plan", *session.posargs, success_codes=[0, 1])


@nox.session(python=PYTHON)
def merge(session: nox.Session) -> None:
    """Fuse the patches: `nox -s merge -- ROOT_DIR [PATCH_JSON] [--dry-run]` (no ROOT_DIR: a copy of the example)."""
    _install(session)
    session.install(MINDSPEED_LLM_PLUGIN)
    session.run("patchmerge", "merge", *session.posargs, success_codes=[0, 1])


@nox.session(python=PYTHON)
def undo(session: nox.Session) -> None:
    """Restore the files of the last merge: `nox -s undo -- ROOT_DIR`."""
    _install(session)
    session.run("patchmerge", "undo", *session.posargs)


@nox.session(python=PYTHON)
def coverage(session: nox.Session) -> None:
    """Patch and module coverage from worker logs: `nox -s coverage -- --json-file J --log-file L [L ...]`."""
    _install(session)
    session.install(MINDSPEED_LLM_PLUGIN)  # the default tree profile lists it; `--profile` may name that one
    session.run("patchmerge", "coverage", *session.posargs)


@nox.session(python=PYTHON)
def collect(session: nox.Session) -> None:
    """Derive the patch JSON from the tree's registrations: `nox -s collect -- ROOT_DIR [--profile P] [-o OUT]`."""
    _install(session)
    session.install(MINDSPEED_LLM_PLUGIN)
    session.run("patchmerge", "collect", *session.posargs, success_codes=[0, 1])


@nox.session(python=PYTHON)
def check(session: nox.Session) -> None:
    """Merge into a workspace, run the model shell, match the expected line, then coverage:
    `nox -s check -- [ROOT_DIR] [PATCH_JSON] [--model-shell S] [--pattern P] [--regex] [--timeout T] [--json]`."""
    _install(session)
    session.install(MINDSPEED_LLM_PLUGIN, SLURM_PLUGIN)
    session.run("patchmerge", "check", *session.posargs)


@nox.session(python=PYTHON)
def bisect(session: nox.Session) -> None:
    """Find the patches whose fusion breaks the run: `nox -s bisect -- [ROOT_DIR] [PATCH_JSON] [check flags]
    [--state-dir D] [--resume] [--jobs N] [--mark good|bad|skip]` (no arguments: the example's wrong patch JSON)."""
    _install(session)
    session.install(MINDSPEED_LLM_PLUGIN, SLURM_PLUGIN)
    session.run("patchmerge", "bisect", *(session.posargs or [EXAMPLE_BROKEN]))


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The whole flow on the bundled example: merge a temporary copy (summary and diff stat), then check (merge
    into a workspace, run the model shell, match the loss line), then coverage from the run's log."""
    _install(session)
    session.install(MINDSPEED_LLM_PLUGIN)
    session.run("patchmerge", "merge")
    workspace = Path(session.create_tmp()) / "demo-check"
    shutil.rmtree(workspace, ignore_errors=True)
    session.run("patchmerge", "check", "--workspace", str(workspace))
    session.run(
        "patchmerge", "coverage", "--json-file", EXAMPLE_PATCHES, "--log-file", str(workspace / "model.log"),
        "--output-dir", str(workspace / "coverage-report"),
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Measured figures, written to benchmarks/results/: `nox -s bench -- ROOT_DIR PATCH_JSON`."""
    _install(session)
    session.install(MINDSPEED_LLM_PLUGIN)
    session.run("python", "benchmarks/bench_plan.py", *session.posargs)
    session.run("python", "benchmarks/bench_merge.py", *session.posargs)
    session.run("python", "benchmarks/bench_calls.py")
    session.run("python", "benchmarks/bench_workspace.py")
    session.run("python", "benchmarks/bench_collect.py")
    if session.posargs:
        session.run("python", "benchmarks/bench_workspace.py", *session.posargs)
        session.run("python", "benchmarks/bench_collect.py", session.posargs[0])
