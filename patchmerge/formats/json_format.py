"""The built-in patch JSON format (SPEC section 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from patchmerge.errors import PatchFileError
from patchmerge.formats.records import patch_set_from_mapping, patch_to_record
from patchmerge.hookspecs import hookimpl
from patchmerge.model import Patch, PatchSet
from patchmerge.profile import Profile

FORMAT = "json"


@hookimpl(trylast=True)
def load_patches(path: Path, text: str, profile: Profile) -> PatchSet | None:
    if path.suffix.lower() not in (".json", "") and not text.lstrip().startswith("{"):
        return None
    return parse(text, path)


def parse(text: str, path: Path) -> PatchSet:
    try:
        pairs = json.loads(text, object_pairs_hook=_keep_pairs)
    except json.JSONDecodeError as exc:
        message = f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise PatchFileError(message, where=str(path)) from None
    except RecursionError:
        raise PatchFileError("malformed JSON: nested too deeply to read", where=str(path)) from None
    if not isinstance(pairs, _Object):
        raise PatchFileError("a patch JSON must be an object mapping targets to lists of patches", where=str(path))
    return patch_set_from_mapping(pairs.pairs, source=path, format=FORMAT)


@hookimpl(trylast=True)
def write_patches(patch_set: PatchSet, patches: list[Patch], path: Path) -> bool | None:
    if patch_set.format != FORMAT:
        return None
    path.write_text(dumps(patch_set, patches), encoding="utf-8")
    return True


def dumps(patch_set: PatchSet, patches: list[Patch]) -> str:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for patch in patches:
        key = patch_set.raw_keys.get(patch.target, f"'{patch.target}'")
        grouped.setdefault(key, []).append(patch_to_record(patch))
    return json.dumps(grouped, indent=4, ensure_ascii=False) + "\n"


class _Object(dict):
    """A JSON object that also keeps its members in file order with duplicates, so a repeated target is
    reported instead of silently dropping its first list."""

    pairs: list[tuple[str, Any]]


def _keep_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    obj.pairs = pairs
    return obj
