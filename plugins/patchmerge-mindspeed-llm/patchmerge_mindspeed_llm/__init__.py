"""MindSpeed-LLM fixups that patchmerge runs after a merge (hook ``post_merge_fixup``).

After fusion, the registrations of fused targets are disabled, so code that looks those targets up in a patch
collection must tolerate their absence. Today that is ``reset_patch`` / ``reset_patch_v2`` in
``mindspeed_llm/mindspore/utils.py`` (see ``reset_patch.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import libcst as cst

from patchmerge import hookimpl
from patchmerge_mindspeed_llm.reset_patch import guard_reset_patch

log = logging.getLogger(__name__)

# inside a MindSpeed-LLM source root
UTILS = Path("mindspeed_llm/mindspore/utils.py")
DEFAULT_ROOT = "MindSpeed-LLM"


def utils_candidates(profile: Any) -> list[Path]:
    """Where utils.py may sit relative to ROOT_DIR: under each of the profile's source roots."""
    roots = getattr(getattr(profile, "sources", None), "roots", None) or (DEFAULT_ROOT,)
    return list(dict.fromkeys(Path(root) / UTILS for root in roots))


@hookimpl
def post_merge_fixup(files: dict[Path, str], root: Path, profile: Any) -> dict[Path, str] | None:
    changed: dict[Path, str] = {}
    for relative in utils_candidates(profile):
        text = files.get(relative)
        if text is None:
            text = _read(root / relative)
        if text is None:
            continue  # not a MindSpore-capable MindSpeed-LLM tree: nothing to fix
        try:
            new = guard_reset_patch(text)
        except cst.ParserSyntaxError as exc:
            # the merge's own validation reports unparsable files; a fixup must not mask that
            log.warning("%s: not fixed up, it does not parse: %s", relative, exc.message)
            continue
        if new != text:
            changed[relative] = new
    return changed or None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
