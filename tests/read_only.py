"""Read-only ROOT_DIRs for the check and bisect tests: one simulated through `is_writable`, one real (a
read-only bind mount, when this machine lets the tests make one), and a digest that notices any write."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchmerge import bundled, writable


def example_copy(base: Path) -> Path:
    root = base / "root"
    shutil.copytree(bundled.example_root(), root, ignore=shutil.ignore_patterns("__pycache__", ".patchmerge"))
    return root


def tree_digest(root: Path) -> dict[str, str]:
    """Every folder, link and file under `root` with its content hash: a new empty folder shows up too."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for name in dirs + files:
            path = here / name
            key = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            elif path.is_dir():
                found[key] = "folder"
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def simulate_read_only(monkeypatch: pytest.MonkeyPatch, root: Path, cache: Path) -> None:
    """Every folder at or under `root` counts as not writable; the cache goes under `cache`."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    real = writable.is_writable
    root = root.resolve()

    def is_writable(folder: Path) -> bool:
        resolved = folder.resolve()
        return resolved != root and root not in resolved.parents and real(folder)

    monkeypatch.setattr(writable, "is_writable", is_writable)


@contextlib.contextmanager
def read_only_mount(source: Path, mount_point: Path) -> Iterator[Path]:
    """`source` seen read-only at `mount_point` (a bind mount); skips the test when none can be made here."""
    if shutil.which("mount") is None or shutil.which("umount") is None:
        pytest.skip("no mount command: a real read-only ROOT_DIR cannot be set up here")
    mount_point.mkdir(parents=True)
    made = subprocess.run(
        ["mount", "--bind", "-o", "ro", str(source), str(mount_point)], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"a read-only bind mount cannot be made here: {made.stderr.strip() or made.returncode}")
    try:
        if os.access(mount_point, os.W_OK):
            pytest.skip("the bind mount did not come up read-only")
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True, check=False)
