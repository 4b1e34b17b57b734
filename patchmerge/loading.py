"""Reading a patch file through the format plugins."""

from __future__ import annotations

from pathlib import Path

import pluggy

from patchmerge.errors import PatchFileError
from patchmerge.model import Patch, PatchSet
from patchmerge.profile import Profile


def load_patch_file(path: Path, pm: pluggy.PluginManager, profile: Profile) -> PatchSet:
    if not path.exists():
        raise PatchFileError("patch file not found", where=str(path))
    if path.is_dir():
        raise PatchFileError("is a folder, not a patch file", where=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PatchFileError("not UTF-8 text", where=str(path)) from None
    except OSError as exc:
        raise PatchFileError(f"cannot read: {exc.strerror}", where=str(path)) from None
    patch_set = pm.hook.load_patches(path=path, text=text, profile=profile)
    if patch_set is None:
        raise PatchFileError("no format plugin reads this file (built in: .json)", where=str(path))
    return patch_set


def write_patch_file(patch_set: PatchSet, patches: list[Patch], path: Path, pm: pluggy.PluginManager) -> None:
    """Write patches back in the input's format, so the file can be fed in again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not pm.hook.write_patches(patch_set=patch_set, patches=patches, path=path):
        raise PatchFileError(f"no format plugin writes the '{patch_set.format}' format", where=str(path))
