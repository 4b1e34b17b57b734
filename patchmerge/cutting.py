"""`cut`: count or slice a patch set by index range, target prefix or kind, without reading any source."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from patchmerge.errors import PatchmergeError
from patchmerge.model import Patch, PatchSet

KINDS = ("replace", "route", "wrap")


@dataclass(frozen=True)
class Selection:
    """The selectors given on the command line; None = not given."""

    left: int | None = None
    right: int | None = None
    target_prefix: str | None = None
    kind: str | None = None

    @property
    def empty(self) -> bool:
        return self.left is None and self.right is None and self.target_prefix is None and self.kind is None


def is_wrap(patch: Patch, suffixes: tuple[str, ...]) -> bool:
    """The runtime's rule on the name the input gives: patch_name, else the last part of patch_import."""
    name = patch.patch_name or patch.patch_import.rsplit(".", 1)[-1]
    return name.endswith(suffixes)


def patch_kinds(patch_set: PatchSet, suffixes: tuple[str, ...]) -> dict[str, str]:
    """Patch id -> `wrap`, `route` (its target has several replacements or a conditional one) or `replace`."""
    kinds: dict[str, str] = {}
    for patches in patch_set.targets.values():
        replacements = [p for p in patches if not is_wrap(p, suffixes)]
        routed = len(replacements) > 1 or any(p.is_conditional for p in replacements)
        for patch in patches:
            kinds[patch.id] = "wrap" if is_wrap(patch, suffixes) else ("route" if routed else "replace")
    return kinds


def check_selection(selection: Selection, total: int) -> tuple[int, int]:
    """The half-open range [left, right) the selection asks for; right is clamped to the patch count."""
    left = 0 if selection.left is None else selection.left
    right = total if selection.right is None else selection.right
    if left < 0 or right < 0:
        raise PatchmergeError(f"--left and --right must not be negative (got {left}, {right})")
    if left > right:
        raise PatchmergeError(f"--left {left} is greater than --right {right}")
    if selection.kind is not None and selection.kind not in KINDS:
        raise PatchmergeError(f"unknown --kind '{selection.kind}' (one of {', '.join(KINDS)})")
    return left, min(right, total)


def cut(patch_set: PatchSet, selection: Selection, suffixes: tuple[str, ...]) -> list[Patch]:
    """The selected patches in file order: range first, then target prefix, then kind."""
    patches = patch_set.patches
    left, right = check_selection(selection, len(patches))
    kept = patches[left:right]
    if selection.target_prefix is not None:
        kept = [p for p in kept if p.target.startswith(selection.target_prefix)]
    if selection.kind is not None:
        kinds = patch_kinds(patch_set, suffixes)
        kept = [p for p in kept if kinds[p.id] == selection.kind]
    return kept


def count_text(patch_set: PatchSet, patches: list[Patch], suffixes: tuple[str, ...]) -> str:
    """`targets N, patches M` and one line per kind (kinds as in the whole input)."""
    kinds = patch_kinds(patch_set, suffixes)
    by_kind = Counter(kinds[p.id] for p in patches)
    targets = len({p.target for p in patches})
    lines = [f"targets {targets}, patches {len(patches)}"]
    lines += [f"  {kind} {by_kind.get(kind, 0)}" for kind in KINDS]
    return "\n".join(lines)
