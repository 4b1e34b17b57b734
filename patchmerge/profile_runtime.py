"""Checks of a profile's [runtime] section that its types alone do not make: the entries it names, and the keys
that need another key."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from patchmerge.errors import ProfileError

if TYPE_CHECKING:
    from patchmerge.profile import Runtime


def check_runtime(runtime: Runtime, where: str) -> None:
    parse_entry = runtime.adaptor_args_entry
    if parse_entry and not is_entry(parse_entry, True):
        raise ProfileError(f"'runtime.adaptor_args_entry' {parse_entry!r} must be 'REL/FILE.py::Qual.name'",
                           where=where)
    if parse_entry and not runtime.adaptor_args_files:
        raise ProfileError("'runtime.adaptor_args_entry' needs 'runtime.adaptor_args_files' (the files it reads "
                           "add_argument calls from)", where=where)
    if runtime.adaptor_args_adjust and not runtime.adaptor_args_files:
        raise ProfileError(
            "'runtime.adaptor_args_adjust' needs 'runtime.adaptor_args_files' (the parse it adjusts)", where=where
        )
    for entry in runtime.adaptor_args_adjust:
        file, _, function = entry.partition("::")
        if not file.endswith(".py") or not function.isidentifier():
            raise ProfileError(
                f"'runtime.adaptor_args_adjust' item {entry!r} must be 'REL/FILE.py::function'", where=where
            )
    for entry in runtime.adaptor_args_guarded:
        check_guarded(entry, bool(runtime.adaptor_args_files), where)


def is_entry(entry: str, with_function: bool) -> bool:
    file, _, qualname = entry.partition("::")
    return file.endswith(".py") and (not with_function or all(p.isidentifier() for p in qualname.split(".")))


def check_guarded(entry: str, with_files: bool, where: str) -> None:
    """A `runtime.adaptor_args_guarded` item: 'REL/FILE.py::function if CONDITION'."""
    key = "'runtime.adaptor_args_guarded'"
    if not with_files:
        raise ProfileError(f"{key} needs 'runtime.adaptor_args_files' (the parse it adds to)", where=where)
    place, _, condition = entry.partition(" if ")
    file, _, function = place.strip().partition("::")
    if not file.endswith(".py") or not function.isidentifier() or not condition.strip():
        raise ProfileError(f"{key} item {entry!r} must be 'REL/FILE.py::function if CONDITION'", where=where)
    try:
        ast.parse(condition.strip(), mode="eval")
    except SyntaxError as exc:
        raise ProfileError(f"{key} item {entry!r}: its condition is not a Python expression ({exc.msg})",
                           where=where) from None
