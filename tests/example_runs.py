"""Runs of the bundled example's model script (`MindSpeed-LLM/pretrain_mini.py`) on a ROOT_DIR: with the
example's own adaptor applying the patches, with no patch applied (`MINI_NO_PATCHES`), or with no patch from
the adaptor but all of them applied by the reference runtime patcher (`tests.reference.run_patched`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from patchmerge import bundled
from tests.reference import with_reference

EXAMPLE = bundled.example_root()
PATCHES = EXAMPLE / "patches.json"
ARGS_PROVIDER = "mindspeed_llm.tasks.megatron_adaptor:MegatronAdaptation.get_args"
ROOTS = ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")
SCRIPT = "pretrain_mini.py"


def flags_for(assignment: dict) -> list[str]:
    """The script's command-line flags for condition values: `--name` for True, `--name value` for a string."""
    flags: list[str] = []
    for name, value in assignment.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif isinstance(value, str):
            flags += [flag, value]
    return flags


def _env(root: Path, no_patches: bool) -> dict[str, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = with_reference(os.pathsep.join(str(root / r) for r in ROOTS))
    env.pop("MINI_NO_PATCHES", None)
    if no_patches:
        env["MINI_NO_PATCHES"] = "1"
    return env


def _run(root: Path, command: list[str], no_patches: bool) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=root / "MindSpeed-LLM", env=_env(root, no_patches), capture_output=True, text=True, timeout=120
    )


def run_script(root: Path, flags: list[str], no_patches: bool) -> subprocess.CompletedProcess:
    """The script on `root`, its adaptor registering the patches unless `no_patches`."""
    return _run(root, [sys.executable, SCRIPT, *flags], no_patches)


def run_reference(root: Path, flags: list[str]) -> subprocess.CompletedProcess:
    """The script on `root` with no patch from its adaptor, patched at runtime from PATCHES by the reference
    patcher."""
    command = [sys.executable, "-m", "tests.reference.run_patched", "--patches", str(PATCHES), "--args",
               ARGS_PROVIDER, SCRIPT, *flags]
    return _run(root, command, no_patches=True)
