"""Git-style unified diffs and `--stat` summaries of a merge's edits (what `merge --dry-run` prints)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

import inflection

from patchmerge.fusion.model import FileEdit

NO_NEWLINE = "\\ No newline at end of file\n"
STAT_BAR_WIDTH = 50  # widest +/- bar, as git scales its graph to the terminal


def unified_diff(edits: Sequence[FileEdit], *, context: int = 3) -> str:
    """One git-style diff for all edits; files the merge creates come from /dev/null."""
    chunks: list[str] = []
    for edit in edits:
        if edit.new == edit.original:
            continue
        path = Path(edit.path).as_posix()
        old = _lines(edit.original)
        new = _lines(edit.new)
        chunks.append(f"diff --git a/{path} b/{path}\n")
        if edit.original is None:
            chunks.append("new file mode 100644\n")
        before = "/dev/null" if edit.original is None else f"a/{path}"
        body = difflib.unified_diff(old, new, before, f"b/{path}", n=context, lineterm="\n")
        for line in body:
            # difflib leaves a last line without "\n" unterminated; git marks it instead
            chunks.append(line if line.endswith("\n") else line + "\n" + NO_NEWLINE)
    return "".join(chunks)


def diff_stat(edits: Sequence[FileEdit]) -> str:
    """Like `git diff --stat`: ` path | N +++--` per file, then the totals line. Empty when nothing changes."""
    rows: list[tuple[str, int, int]] = []
    for edit in edits:
        if edit.new == edit.original:
            continue
        added, removed = _counts(_lines(edit.original), _lines(edit.new))
        rows.append((Path(edit.path).as_posix(), added, removed))
    if not rows:
        return ""
    name_width = max(len(name) for name, _, _ in rows)
    count_width = max(len(str(a + r)) for _, a, r in rows)
    biggest = max(a + r for _, a, r in rows)
    lines = []
    for name, added, removed in rows:
        plus, minus = _bar(added, removed, biggest)
        lines.append(f" {name.ljust(name_width)} | {str(added + removed).rjust(count_width)} {plus}{minus}".rstrip())
    total_added = sum(a for _, a, _ in rows)
    total_removed = sum(r for _, _, r in rows)
    parts = [f"{_count(len(rows), 'file')} changed"]
    if total_added or not total_removed:
        parts.append(f"{_count(total_added, 'insertion')}(+)")
    if total_removed or not total_added:
        parts.append(f"{_count(total_removed, 'deletion')}(-)")
    lines.append(" " + ", ".join(parts))
    return "\n".join(lines) + "\n"


def _lines(data: bytes | None) -> list[str]:
    """Split on "\\n" only, as git does (str.splitlines would also split on \\f, \\x1c, U+2028 ...)."""
    if not data:
        return []
    text = data.decode("utf-8", errors="replace")
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _counts(old: list[str], new: list[str]) -> tuple[int, int]:
    """Counted from the same diff `unified_diff` prints, so the stat and the diff always agree."""
    added = removed = 0
    for position, line in enumerate(difflib.unified_diff(old, new, n=0, lineterm="\n")):
        if position < 2:  # the ---/+++ header (a content line may itself start with "+++" or "---")
            continue
        added += line.startswith("+")
        removed += line.startswith("-")
    return added, removed


def _bar(added: int, removed: int, biggest: int) -> tuple[str, str]:
    if biggest <= STAT_BAR_WIDTH:
        return "+" * added, "-" * removed
    # scale, but never hide a side that has changes
    plus = max(1, round(added * STAT_BAR_WIDTH / biggest)) if added else 0
    minus = max(1, round(removed * STAT_BAR_WIDTH / biggest)) if removed else 0
    return "+" * plus, "-" * minus


def _count(number: int, noun: str) -> str:
    return f"{number} {noun if number == 1 else inflection.pluralize(noun)}"
