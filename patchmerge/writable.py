"""Where `check` and `bisect` keep their files when ROOT_DIR cannot be written.

Neither needs to write ROOT_DIR: a shared read-only install of the trees is common on clusters. When the folder
a default would go in is not writable, the same relative path goes under a cache folder of this tree instead
(`$XDG_CACHE_HOME/patchmerge/NAME-HASH/`, `~/.cache` by default), named from the root's name and a hash of its
absolute path so that two trees never share one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from patchmerge.fusion.transaction import MANIFEST_DIR


def is_writable(folder: Path) -> bool:
    """Whether a file can really be made in `folder`. A trial file, not only os.access: as root, access() says
    yes to folders that a read-only mount over NFS or a quota still refuses."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        handle, name = tempfile.mkstemp(prefix=".patchmerge-probe-", dir=folder)
    except OSError:
        return False
    os.close(handle)
    os.unlink(name)
    return True


def cache_home() -> Path:
    configured = os.environ.get("XDG_CACHE_HOME", "")
    # the XDG rule: a relative value is ignored
    base = Path(configured) if configured and Path(configured).is_absolute() else Path.home() / ".cache"
    return base / "patchmerge"


def tree_cache_dir(root: Path) -> Path:
    root = root.resolve()
    digest = hashlib.sha256(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return cache_home() / f"{root.name or 'root'}-{digest}"


def state_path(root: Path, relative: str | Path) -> tuple[Path, bool]:
    """`root/relative` when it can be made there, else its place under this tree's cache folder. The bool says
    whether it moved. A path the profile puts outside ROOT_DIR is left alone: that choice is the user's."""
    wanted = root / relative
    root = root.resolve()
    inside = Path(os.path.normpath(root / relative))
    if inside != root and root not in inside.parents:
        return wanted, False
    existing = inside
    while not existing.exists() and existing != root:
        existing = existing.parent
    folder = existing if existing.is_dir() else existing.parent
    if is_writable(folder):
        return wanted, False
    parts = inside.relative_to(root).parts
    if parts and parts[0] == MANIFEST_DIR:  # the cache folder is this tree's state folder already
        parts = parts[1:]
    return tree_cache_dir(root).joinpath(*parts), True


def read_only_note(what: str, where: Path) -> str:
    return f"ROOT_DIR is read-only: {what} in {where}"
