"""`--log-file` arguments: files, folders (every `*.log` inside, recursively) and globs, expanded to files."""

from __future__ import annotations

import glob
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from patchmerge.errors import PatchmergeError

GLOB_CHARS = frozenset("*?[")
FOLDER_PATTERN = "*.log"


class LogInputError(PatchmergeError):
    """A log argument that names no readable file."""


def expand_log_args(specs: Sequence[str]) -> list[Path]:
    """Every file the arguments name, each once, in argument order (each folder or glob in natural order:
    worker_2.log before worker_10.log). An argument that names no file is an error: it is most likely a typo,
    and coverage computed without those logs would be silently wrong."""
    if not specs:
        raise LogInputError("no --log-file given")
    files: dict[Path, Path] = {}  # resolved -> as the user named it
    for spec in specs:
        for path in _expand(spec):
            files.setdefault(path.resolve(), path)
    return list(files.values())


def _expand(spec: str) -> list[Path]:
    path = Path(spec).expanduser()
    if path.is_dir():
        return _folder(path)
    if path.exists():
        return [path]
    if GLOB_CHARS.isdisjoint(spec):
        raise LogInputError(f"log file not found: {spec}")
    matched = [Path(m) for m in glob.glob(str(path), recursive=True)]
    # a folder the glob matches may hold no log: only the glob as a whole must match something
    found = _natural(m for m in matched if not m.is_dir())
    found += [f for m in _natural(m for m in matched if m.is_dir()) for f in _folder(m, strict=False)]
    if not found:
        raise LogInputError(f"no log file matches {spec}")
    return found


def _folder(path: Path, *, strict: bool = True) -> list[Path]:
    found = _natural(p for p in path.rglob(FOLDER_PATTERN) if p.is_file())
    if not found and strict:
        raise LogInputError(f"no {FOLDER_PATTERN} file in folder {path}")
    return found


def _natural(paths: Iterable[Path]) -> list[Path]:
    return sorted(paths, key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(p))])
