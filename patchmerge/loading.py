"""Reading a patch file through the format plugins."""

from __future__ import annotations

from pathlib import Path

import pluggy

from patchmerge.conditions import ALLOWED_BUILTINS, ConditionError, parse_condition, refusal, refused_name
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
    check_condition_names(patch_set, profile, str(path))
    return patch_set


def check_condition_names(patch_set: PatchSet, profile: Profile, where: str) -> None:
    """A condition is code that runs in every training process: bad input, before anything is planned or
    written, when it reads more than args, its condition_import names and the allowed builtins. Checked here,
    after the format plugin, so that every format and every command gets it."""
    allowed = ALLOWED_BUILTINS | frozenset(profile.conditions.allowed_names)
    for patch in patch_set.patches:
        for position, text in enumerate(patch.condition):
            try:
                name = refused_name(parse_condition(text), patch.condition_import, allowed)
            except ConditionError as exc:  # a plugin that built its patches without the shared checks
                raise PatchFileError(f"patch {patch.id}: condition {position} {text!r} {exc}", where=where) from None
            if name is not None:
                raise PatchFileError(f"patch {patch.id}: condition {position} {text!r} {refusal(name)}", where=where)


def write_patch_file(patch_set: PatchSet, patches: list[Patch], path: Path, pm: pluggy.PluginManager) -> None:
    """Write patches back in the input's format, so the file can be fed in again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not pm.hook.write_patches(patch_set=patch_set, patches=patches, path=path):
        raise PatchFileError(f"no format plugin writes the '{patch_set.format}' format", where=str(path))
