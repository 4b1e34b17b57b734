"""Where check and bisect keep their files when ROOT_DIR cannot be written."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchmerge import writable
from patchmerge.writable import cache_home, is_writable, state_path, tree_cache_dir


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[Path]:
    """A folder nothing can be created in, even by root (chattr +i); skips where that cannot be set."""
    folder = tmp_path / "immutable"
    folder.mkdir()
    if shutil.which("chattr") is None:
        pytest.skip("no chattr: an unwritable folder cannot be made here")
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"chattr +i does not work here: {made.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=False)


def test_a_writable_folder_is_writable_and_the_trial_leaves_nothing(tmp_path: Path) -> None:
    assert is_writable(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_an_immutable_folder_is_not_writable_even_for_root(immutable: Path) -> None:
    assert not is_writable(immutable)


def test_a_writable_root_keeps_the_default(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    assert state_path(root, ".patchmerge/bisect") == (root / ".patchmerge/bisect", False)
    assert not (root / ".patchmerge").exists(), "asking makes nothing"


def test_a_read_only_root_moves_to_its_cache_folder(tmp_path: Path, immutable: Path, cache: Path) -> None:
    path, moved = state_path(immutable, ".patchmerge/check")
    assert moved and path == tree_cache_dir(immutable) / "check"
    assert path.parent.parent == cache / "patchmerge" and path.parent.name.startswith("immutable-")


def test_a_read_only_state_folder_in_a_writable_root_moves_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    (root / ".patchmerge").mkdir(parents=True)
    monkeypatch.setattr(writable, "is_writable", lambda folder: folder.name != ".patchmerge")
    assert state_path(root, ".patchmerge/collected.json") == (tree_cache_dir(root) / "collected.json", True)


def test_a_state_dir_outside_the_root_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writable, "is_writable", lambda folder: False)
    assert state_path(tmp_path / "root", tmp_path / "elsewhere") == (tmp_path / "elsewhere", False)
    assert state_path(tmp_path / "root", "../elsewhere") == (tmp_path / "root/../elsewhere", False)


def test_two_trees_of_one_name_never_share_a_cache_folder(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "root", tmp_path / "b" / "root"
    assert tree_cache_dir(first) != tree_cache_dir(second)
    assert tree_cache_dir(first) == tree_cache_dir(tmp_path / "a" / "." / "root")
    assert tree_cache_dir(first).name.startswith("root-") and len(tree_cache_dir(first).name) == len("root-") + 12


def test_a_relative_xdg_cache_home_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_home() == tmp_path / "home" / ".cache" / "patchmerge"
