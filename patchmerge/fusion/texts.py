"""Each file a merge touches: read once, edited in memory, compared with what was read at the end."""

from __future__ import annotations

from pathlib import Path

from patchmerge.errors import PatchmergeError
from patchmerge.fusion.already import fused_pairs
from patchmerge.fusion.model import FileEdit
from patchmerge.fusion.source_form import SourceFormError, decode, encode_like


class MergeAborted(PatchmergeError):
    """The merge would produce an invalid tree; nothing is written."""


class Texts:
    """Each file read once, edited in memory, compared with what was read at the end.

    Texts have "\\n" line ends and no BOM, whatever the file holds; `edits` gives each file its own form back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.raw: dict[Path, bytes | None] = {}
        self.original: dict[Path, str | None] = {}
        self.current: dict[Path, str] = {}
        self._fused: dict[Path, set[tuple[str, str]]] = {}

    def read(self, path: Path) -> str:
        if path not in self.current:
            full = self.root / path
            data = full.read_bytes() if full.exists() else None
            try:
                text = None if data is None else decode(data)
            except SourceFormError as exc:
                raise MergeAborted(f"{path}: {exc}") from None
            self.raw[path] = data
            self.original[path] = text
            self.current[path] = text or ""
        return self.current[path]

    def fused_pairs(self, path: Path) -> set[tuple[str, str]]:
        """What an earlier merge fused in this file (read before this merge changes anything)."""
        if path not in self._fused:
            self._fused[path] = fused_pairs(self.read(path))
        return self._fused[path]

    def write(self, path: Path, text: str) -> None:
        self.read(path)
        self.current[path] = text

    def edits(self) -> list[FileEdit]:
        changed = []
        for path, text in self.current.items():
            if text == self.original[path]:
                continue
            try:
                new = encode_like(text, self.raw[path])
            except SourceFormError as exc:
                raise MergeAborted(f"{path}: {exc}") from None
            if new != self.raw[path]:
                changed.append(FileEdit(path, self.raw[path], new))
        return changed
