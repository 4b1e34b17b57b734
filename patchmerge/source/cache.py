"""On-disk cache of file summaries: one pickle per summary, named by the hash of the file's bytes.

A small stat index (path -> mtime, size, inode, hash) lets an unchanged file be found without even reading
it, as git's index does. Entries for files modified in the last few seconds are not kept ("racy" files: a
rewrite within the same mtime tick would go unnoticed), so such files are simply hashed again next time.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import tempfile
import time
from pathlib import Path

from patchmerge.gc_paused import gc_paused
from patchmerge.source.index import INDEX_VERSION, FileSummary

log = logging.getLogger(__name__)

RACY_NS = 2_000_000_000  # files younger than this are not remembered by stat


class DiskCache:
    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory) / f"resolve-index-v{INDEX_VERSION}"
        self._stats: dict[str, list[int | str]] | None = None
        self._dirty = False

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.pkl"

    def get(self, key: str) -> FileSummary | None:
        try:
            with open(self._path(key), "rb") as fh, gc_paused():
                value = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            return None  # missing, truncated or stale entries are simply rebuilt
        return value if isinstance(value, FileSummary) else None

    def put(self, key: str, summary: FileSummary) -> None:
        self._write(self._path(key), pickle.dumps(summary, protocol=pickle.HIGHEST_PROTOCOL))

    def _write(self, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)  # readers never see a half-written entry
        except OSError as exc:  # a read-only cache only costs speed
            log.debug("cannot write index cache %s: %s", path, exc)

    # -- stat index ---------------------------------------------------------------------------------

    def _stat_index(self) -> dict[str, list[int | str]]:
        if self._stats is None:
            try:
                loaded = json.loads((self.dir / "stat-index.json").read_text())
                self._stats = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._stats = {}
        return self._stats

    def known_key(self, path: Path, st: os.stat_result) -> str | None:
        entry = self._stat_index().get(str(path))
        if entry and entry[:3] == [st.st_mtime_ns, st.st_size, st.st_ino]:
            return str(entry[3])
        return None

    def remember(self, path: Path, st: os.stat_result, key: str) -> None:
        if time.time_ns() - st.st_mtime_ns < RACY_NS:
            return
        self._stat_index()[str(path)] = [st.st_mtime_ns, st.st_size, st.st_ino, key]
        self._dirty = True

    def flush(self) -> None:
        if self._dirty and self._stats is not None:
            self._write(self.dir / "stat-index.json", json.dumps(self._stats).encode())
            self._dirty = False
