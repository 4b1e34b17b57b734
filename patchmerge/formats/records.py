"""Validation shared by every patch format: a mapping of target -> list of patch records becomes a PatchSet.

Format plugins parse their syntax into that mapping and call `patch_set_from_mapping`, so every format gets
the same checks and the same messages.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from patchmerge.conditions import ConditionError, parse_condition
from patchmerge.errors import PatchFileError
from patchmerge.model import Patch, PatchSet

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_KNOWN_KEYS = ("patch_import", "patch_name", "condition", "condition_import", "force_patch", "phase", "collection")


def strip_quotes(key: str) -> str:
    key = key.strip()
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
        return key[1:-1].strip()
    return key


def patch_set_from_mapping(
    items: Iterable[tuple[str, Any]], *, source: Path | None, format: str, where: str | None = None
) -> PatchSet:
    """Validate (raw target key, list of records) pairs, in file order, into a PatchSet."""
    where = where or (str(source) if source else "<patches>")
    targets: dict[str, list[Patch]] = {}
    raw_keys: dict[str, str] = {}
    for raw_key, records in items:
        if not isinstance(raw_key, str):
            raise PatchFileError(f"target key {raw_key!r} must be a string", where=where)
        target = strip_quotes(raw_key)
        if not _DOTTED.match(target):
            raise PatchFileError(f"target {raw_key!r} is not a dotted name like 'package.module.name'", where=where)
        if target in targets:
            raise PatchFileError(
                f"target '{target}' appears twice ({raw_keys[target]!r} and {raw_key!r}); "
                "list all its patches under one key, in registration order",
                where=where,
            )
        if not isinstance(records, list):
            raise PatchFileError(f"target '{target}': value must be a list of patches", where=where)
        raw_keys[target] = raw_key
        targets[target] = [_patch(target, index, record, where) for index, record in enumerate(records)]
    _check_phase_collections(targets, where)
    return PatchSet(targets=targets, source=source, format=format, raw_keys=raw_keys)


def _check_phase_collections(targets: dict[str, list[Patch]], where: str) -> None:
    """A phase is one apply call of one collection: its patches all name the same collection, or none do
    (the order two collections would apply in within a phase is not something a patch file can say)."""
    first: dict[int, Patch] = {}
    for patch in (p for plist in targets.values() for p in plist):
        phase = patch.phase or 0
        earlier = first.setdefault(phase, patch)
        if earlier.collection != patch.collection:
            raise PatchFileError(
                f"patches {earlier.id} and {patch.id} are both in phase {phase} but name different collections "
                f"({earlier.collection or 'none'} and {patch.collection or 'none'}); give each collection's apply "
                "its own phase",
                where=where,
            )


def _patch(target: str, index: int, record: Any, where: str) -> Patch:
    pid = f"{target}#{index}"
    if not isinstance(record, dict):
        got = type(record).__name__
        raise PatchFileError(f"patch {pid}: must be an object with 'patch_import', got {got}", where=where)
    for key in record:
        if key not in _KNOWN_KEYS:
            close = difflib.get_close_matches(key, _KNOWN_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; known keys: {', '.join(_KNOWN_KEYS)}"
            raise PatchFileError(f"patch {pid}: unknown key '{key}'{hint}", where=where)
    patch_import = record.get("patch_import")
    if not isinstance(patch_import, str) or not _DOTTED.match(patch_import.strip()):
        raise PatchFileError(f"patch {pid}: 'patch_import' must be a dotted name, got {patch_import!r}", where=where)
    patch_import = patch_import.strip()
    patch_name = record.get("patch_name", patch_import.rsplit(".", 1)[-1])
    if not isinstance(patch_name, str) or not patch_name.isidentifier():
        raise PatchFileError(f"patch {pid}: 'patch_name' must be an identifier, got {patch_name!r}", where=where)
    condition = _conditions(pid, record.get("condition"), where)
    condition_import = _string_list(pid, "condition_import", record.get("condition_import"), where)
    for name in condition_import:
        if not _DOTTED.match(name):
            raise PatchFileError(f"patch {pid}: condition_import '{name}' is not a dotted name", where=where)
    force_patch = record.get("force_patch", False)
    if not isinstance(force_patch, bool):
        raise PatchFileError(f"patch {pid}: 'force_patch' must be true or false, got {force_patch!r}", where=where)
    phase = record.get("phase")
    if phase is not None and (not isinstance(phase, int) or isinstance(phase, bool)):
        raise PatchFileError(f"patch {pid}: 'phase' must be an integer, got {phase!r}", where=where)
    collection = record.get("collection")
    if collection is not None and (not isinstance(collection, str) or not collection.strip()):
        raise PatchFileError(f"patch {pid}: 'collection' must be a non-empty string, got {collection!r}", where=where)
    return Patch(
        target=target,
        index=index,
        patch_import=patch_import,
        patch_name=patch_name,
        condition=condition,
        condition_import=condition_import,
        force_patch=force_patch,
        phase=phase,
        collection=collection.strip() if collection else None,
    )


def _conditions(pid: str, raw: Any, where: str) -> tuple[str, ...]:
    if raw is None or raw is False:
        return ()
    if not isinstance(raw, list):
        message = f"patch {pid}: 'condition' must be a list of expressions, [] or false, got {raw!r}"
        raise PatchFileError(message, where=where)
    texts = []
    for position, text in enumerate(raw):
        try:
            texts.append(parse_condition(text).text)
        except ConditionError as exc:
            raise PatchFileError(f"patch {pid}: condition {position} {text!r} {exc}", where=where) from None
    return tuple(texts)


def _string_list(pid: str, key: str, raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise PatchFileError(f"patch {pid}: '{key}' must be a list of strings, got {raw!r}", where=where)
    return tuple(v.strip() for v in raw)


def patch_to_record(patch: Patch) -> dict[str, Any]:
    """The record a patch was read from, in the input's key order (optional keys only when set)."""
    record: dict[str, Any] = {"patch_import": patch.patch_import, "patch_name": patch.patch_name}
    record["condition"] = list(patch.condition)
    if patch.condition_import:
        record["condition_import"] = list(patch.condition_import)
    if patch.force_patch:
        record["force_patch"] = True
    if patch.phase is not None:
        record["phase"] = patch.phase
    if patch.collection is not None:
        record["collection"] = patch.collection
    return record
