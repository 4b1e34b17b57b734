"""Refuse to write anything that is not valid Python or that reads a name nothing defines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pyflakes import api as pyflakes_api
from pyflakes import messages as pyflakes_messages


class _Collector:
    """A pyflakes reporter that keeps the undefined names instead of printing."""

    def __init__(self) -> None:
        self.undefined: Counter[str] = Counter()
        self.syntax_error: str | None = None

    def unexpectedError(self, filename: str, message: str) -> None:  # noqa: N802 - pyflakes' interface
        self.syntax_error = message

    def syntaxError(self, filename: str, message: str, lineno: int, offset: int, text: str) -> None:  # noqa: N802
        self.syntax_error = f"line {lineno}: {message}"

    def flake(self, message: object) -> None:
        if isinstance(message, pyflakes_messages.UndefinedName):
            self.undefined[str(message.message_args[0])] += 1


def undefined_names(text: str, filename: str) -> Counter[str]:
    collector = _Collector()
    pyflakes_api.check(text, filename, collector)
    return collector.undefined


def check_file(path: Path, before: str | None, after: str, origins: Sequence[str | None] = ()) -> list[str]:
    """Problems the edit introduces in this file (empty when it is fine); `origins` are the texts code moved
    from, whose undefined names come along with it and are not new."""
    try:
        compile(after, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        return [f"{path}: the fused file does not compile: line {exc.lineno}: {exc.msg}"]
    new = undefined_names(after, str(path))
    # the earlier texts are read only while the new one reads a name more often than they do (most files read
    # none at all): pyflakes is the costly part of the check
    old: Counter[str] = Counter()
    for earlier in [before, *origins]:
        if not any(new[name] > old.get(name, 0) for name in new):
            break
        if earlier is not None:
            old += undefined_names(earlier, str(path))
    added = sorted(name for name in new if new[name] > old.get(name, 0))
    return [f"{path}: the fusion reads undefined name '{name}'" for name in added]
