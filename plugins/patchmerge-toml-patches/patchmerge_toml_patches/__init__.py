"""A patch-file format plugin for patchmerge, and the model for third-party formats.

A TOML patch list is a sequence of `[[patch]]` tables in registration order::

    [[patch]]
    target = "megatron.core.transformer.attention.Attention.__init__"
    patch_import = "mindspeed.core.transformer.attention.attention_init"
    condition = ["args.tp_2d"]          # optional, ANDed; [] or absent = always
    condition_import = []               # optional
    force_patch = false                 # optional

Patches of one target may be spread over the file; their order in the file is their registration order.
The plugin only turns TOML into (target, records) pairs: patchmerge's shared validation does the rest, so
messages and checks are the same as for JSON.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from patchmerge import hookimpl
from patchmerge.errors import PatchFileError
from patchmerge.formats import patch_set_from_mapping, patch_to_record

FORMAT = "toml"


@hookimpl
def load_patches(path: Path, text: str) -> Any:
    if path.suffix.lower() != ".toml":
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PatchFileError(f"malformed TOML: {exc}", where=str(path)) from None
    except RecursionError:
        raise PatchFileError("malformed TOML: nested too deeply to read", where=str(path)) from None
    unknown = sorted(set(data) - {"patch"})
    if unknown:
        raise PatchFileError(f"unknown top-level key '{unknown[0]}' (expected [[patch]] tables)", where=str(path))
    tables = data.get("patch", [])
    if not isinstance(tables, list):
        raise PatchFileError("'patch' must be an array of tables: write [[patch]]", where=str(path))
    grouped: dict[str, list[dict[str, Any]]] = {}
    for number, table in enumerate(tables, start=1):
        target = table.get("target") if isinstance(table, dict) else None
        if not isinstance(target, str):
            raise PatchFileError(f"[[patch]] number {number} has no 'target' string", where=str(path))
        record = {k: v for k, v in table.items() if k != "target"}
        grouped.setdefault(target, []).append(record)
    return patch_set_from_mapping(grouped.items(), source=path, format=FORMAT)


@hookimpl
def write_patches(patch_set: Any, patches: list[Any], path: Path) -> bool | None:
    if patch_set.format != FORMAT:
        return None
    path.write_text(dumps(patches), encoding="utf-8")
    return True


def dumps(patches: list[Any]) -> str:
    chunks = []
    for patch in patches:
        lines = ["[[patch]]", f"target = {_toml(patch.target)}"]
        lines += [f"{key} = {_toml(value)}" for key, value in patch_to_record(patch).items()]
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + "\n"


def _toml(value: Any) -> str:
    # TOML basic strings accept JSON's escapes; booleans and integers are spelled the same too.
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
