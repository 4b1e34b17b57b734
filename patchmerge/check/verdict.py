"""Where the expected line is looked for: the script's output, then the log files it wrote (profile globs)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from patchmerge.errors import PatchmergeError


class PatternError(PatchmergeError):
    """A pattern that cannot be used."""


def matcher(pattern: str, regex: bool) -> Callable[[str], bool]:
    if not pattern:
        raise PatternError("no pattern to look for: give --pattern or set 'check.pattern' in the profile")
    if not regex:
        return lambda line: pattern in line
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise PatternError(f"--pattern is not a valid regular expression: {exc}") from None
    return lambda line: compiled.search(line) is not None


def written_logs(cwd: Path, globs: Iterable[str]) -> list[Path]:
    """The log files a script wrote under its working folder, in a stable order."""
    found: dict[Path, None] = {}
    for pattern in globs:
        for path in sorted(cwd.glob(pattern)):
            if path.is_file():
                found[path] = None
    return list(found)


def find_pattern(files: Iterable[Path], matches: Callable[[str], bool]) -> Path | None:
    """The first file holding a matching line, read line by line (logs can be gigabytes)."""
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                if any(matches(line) for line in handle):
                    return path
        except OSError:
            continue
    return None
