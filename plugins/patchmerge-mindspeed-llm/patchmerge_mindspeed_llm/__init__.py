"""MindSpeed-LLM fixups that patchmerge runs after a merge (hook ``post_merge_fixup``).

After fusion, the registrations of fused targets are disabled, so code that looks those targets up in a patch
collection must tolerate their absence. Today that is ``reset_patch`` / ``reset_patch_v2`` in
``mindspeed_llm/mindspore/utils.py`` (see ``reset_patch.py``); the profile's ``[mindspeed_llm]`` table says
which files hold them (hook ``profile_sections``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import libcst as cst

from patchmerge import hookimpl
from patchmerge.profile import Profile, plugin_section
from patchmerge_mindspeed_llm.reset_patch import guard_reset_patch

log = logging.getLogger(__name__)

SECTION = "mindspeed_llm"


@dataclass(frozen=True)
class Settings:
    """The profile's [mindspeed_llm] table."""

    # files, relative to a source root, whose reset_patch / reset_patch_v2 must tolerate a fused target
    reset_patch_files: tuple[str, ...] = ("mindspeed_llm/mindspore/utils.py",)

    def __post_init__(self) -> None:
        for file in self.reset_patch_files:
            path = PurePosixPath(file)
            if path.is_absolute() or ".." in path.parts or path.suffix != ".py":
                raise ValueError(f"'{SECTION}.reset_patch_files' item {file!r} must be a .py file inside a source root")


@hookimpl
def profile_sections() -> dict[str, type]:
    return {SECTION: Settings}


def utils_candidates(profile: Profile) -> list[Path]:
    """Where the reset_patch files may sit relative to ROOT_DIR: under each of the profile's source roots."""
    files = plugin_section(profile, SECTION, Settings).reset_patch_files
    return list(dict.fromkeys(Path(root) / file for root in profile.sources.roots for file in files))


@hookimpl
def post_merge_fixup(files: dict[Path, str], root: Path, profile: Profile) -> dict[Path, str] | None:
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
