"""Each file a merge touches: read once, edited in memory, compared with what was read at the end."""

from __future__ import annotations

from pathlib import Path

from patchmerge.errors import PatchmergeError
from patchmerge.fusion.already import fused_pairs
from patchmerge.fusion.model import FileEdit


class MergeAborted(PatchmergeError):
    """The merge would produce an invalid tree; nothing is written."""


class Texts:
    """Each file read once, edited in memory, compared with what was read at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.original: dict[Path, str | None] = {}
        self.current: dict[Path, str] = {}
        self._fused: dict[Path, set[tuple[str, str]]] = {}

    def read(self, path: Path) -> str:
        if path not in self.current:
            full = self.root / path
            try:
                text = full.read_bytes().decode("utf-8") if full.exists() else None
            except UnicodeDecodeError:
                raise MergeAborted(f"{path}: not UTF-8, so it cannot be rewritten") from None
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
            before = self.original[path]
            if text != before:
                changed.append(FileEdit(path, None if before is None else before.encode("utf-8"), text.encode("utf-8")))
        return changed


def module_for(path: Path, roots: tuple[str, ...]) -> str:
    """The dotted module of a file given relative to ROOT_DIR: the longest source root that is a leading part
    of its path (a root may have several parts, e.g. "src/MindSpeed-LLM") is stripped first."""
    parts = path.parts
    best = 0
    for root in roots:
        root_parts = Path(root).parts
        if len(root_parts) > best and len(root_parts) < len(parts) and parts[: len(root_parts)] == root_parts:
            best = len(root_parts)
    parts = parts[best:]
    names = list(parts[:-1]) + ([] if parts[-1] == "__init__.py" else [parts[-1].removesuffix(".py")])
    return ".".join(names)
