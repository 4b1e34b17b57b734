"""Options the adaptor adds only when a condition over its parse so far holds (profile key
`runtime.adaptor_args_guarded`).

MindSpeed-LLM 26.1.0's MindSpore feature parses the command line it has so far and adds its options
(`--enable-seq1f1b`...) only for `--ai-framework mindspore`. Read as unconditional options they would give
`args` attributes the runtime's parse does not have, and leave other tokens unknown than it does; so each is
read with its condition, and the helper's parse adds them the same way.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from patchmerge.conditions import ConditionError, parse_condition
from patchmerge.fusion.insource.adaptor_args import AdaptorArgs, Guard, Option, read_calls
from patchmerge.fusion.insource.condition_keys import condition_keys
from patchmerge.fusion.texts import MergeAborted

KEY = "runtime.adaptor_args_guarded"


def read_guarded(found: AdaptorArgs, entries: tuple[str, ...], read: Callable[[Path], str]) -> None:
    """The options each entry's function adds, under its condition; an entry that cannot be read is an error
    naming it. Every entry's options are set apart first, so a condition that reads an option another entry
    adds (a guard under a guard) is refused whatever the order of the entries."""
    read_in: list[tuple[str, str, str, ast.FunctionDef, str, ast.Module]] = []
    seen: dict[str, str] = {}
    for entry in entries:
        place, _, condition = entry.partition(" if ")
        file, _, function = place.strip().partition("::")
        file = Path(file).as_posix()
        if f"{file}::{function}" in seen:
            raise MergeAborted(f"{KEY} item {entry!r}: {file}::{function} is named by {seen[f'{file}::{function}']!r} "
                               "too")
        seen[f"{file}::{function}"] = entry
        definition, text, module = _definition(entry, file, function, read)
        # read as options the parser always adds when the file is one of its files too: they are not
        _forget(found, {f"{file}:{node.lineno}" for node in ast.walk(definition) if isinstance(node, ast.Call)})
        read_in.append((entry, f"{file}::{function}", condition, definition, text, module))
    for entry, place, condition, definition, text, module in read_in:
        written, needs = _condition(entry, condition, found)
        read_calls(found, definition, place.partition("::")[0], Guard(place, written, needs), text, (module,))


def _definition(
    entry: str, file: str, function: str, read: Callable[[Path], str]
) -> tuple[ast.FunctionDef, str, ast.Module]:
    text = read(Path(file))
    if not text.strip():  # the merge's reader gives a missing file as no text
        raise MergeAborted(f"{KEY} item {entry!r}: {file} is missing or empty")
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise MergeAborted(f"{KEY} item {entry!r}: {file} cannot be parsed ({exc.msg})") from None
    defs = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == function]
    if len(defs) != 1:
        raise MergeAborted(f"{KEY} item {entry!r}: {file} does not define {function} once at its top level")
    return defs[0], text, tree


def _condition(entry: str, condition: str, found: AdaptorArgs) -> tuple[str, tuple[Option, ...]]:
    """The condition as the helper writes it (one line, no comment), and the options it reads."""
    try:
        parsed = parse_condition(condition)
    except ConditionError as exc:
        raise MergeAborted(f"{KEY} item {entry!r}: its condition {exc}") from None
    if parsed.free_names - {"args"}:  # it runs inside the helper, where only args and builtins are bound
        other = sorted(parsed.free_names - {"args"})[0]
        raise MergeAborted(f"{KEY} item {entry!r}: its condition reads '{other}'; it may read only args")
    keys = condition_keys(parsed.tree)
    if keys is None:
        raise MergeAborted(f"{KEY} item {entry!r}: its condition uses args other than by reading its options")
    needs = []
    for key in sorted(keys):
        option = found.option(key)
        if isinstance(option, str) or option.guard is not None:
            raise MergeAborted(f"{KEY} item {entry!r}: its condition reads args.{key}, which is not one option "
                               "the adaptor's parser adds unconditionally (runtime.adaptor_args_files)")
        needs.append(option)
    return ast.unparse(parsed.tree.body), tuple(needs)


def _forget(found: AdaptorArgs, places: set[str]) -> None:
    """Drop what was read at `places` as always added (the function's file is one of the parser's files too)."""
    for dest in list(found.options):
        found.options[dest] = [option for option in found.options[dest] if option.where not in places]
        if not found.options[dest]:
            del found.options[dest]
    for dest in list(found.unreadable):
        found.unreadable[dest] = [where for where in found.unreadable[dest] if where not in places]
        if not found.unreadable[dest]:
            del found.unreadable[dest]
    found.consuming = [option for option in found.consuming if option.where not in places]
    found.unconsumable = [where for where in found.unconsumable if where not in places]

