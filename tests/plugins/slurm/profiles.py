"""Profiles with a [slurm] table for the plugin's tests, on the bundled example or a generated model tree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from patchmerge import bundled
from tests.check.model_trees import write_model_tree

POLL = 0.5  # seconds between looks at a job at most: the test jobs last a few seconds


def slurm_table(**settings: object) -> str:
    values = {"poll_seconds": POLL, **settings}
    return "[slurm]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())


def example(tmp: Path, **settings: object) -> tuple[Path, Path]:
    """A copy of the bundled example and its profile with a [slurm] table: (ROOT_DIR, profile)."""
    root = tmp / "example"
    shutil.copytree(bundled.example_root(), root, ignore=shutil.ignore_patterns("__pycache__", ".patchmerge"))
    profile = tmp / "example-slurm.toml"
    text = (bundled.configs_dir() / "example.toml").read_text(encoding="utf-8")
    profile.write_text(text + "\n" + slurm_table(**settings), encoding="utf-8")
    return root, profile


def model_tree(tmp: Path, shell_body: str, ops: int = 4, **settings: object) -> tuple[Path, Path]:
    """A small generated tree whose model shell runs `shell_body`, and its profile with a [slurm] table."""
    root = tmp / "tree"
    profile = write_model_tree(root, ops=ops, shell_body=shell_body)
    profile.write_text(profile.read_text(encoding="utf-8") + slurm_table(**settings), encoding="utf-8")
    return root, profile
