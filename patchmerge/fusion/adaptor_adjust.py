"""What the adaptor does to its own parse before conditions read it (profile key `runtime.adaptor_args_adjust`).

MindSpeed-LLM 26.1.0's `get_mindspeed_llm_args` calls `get_env_args(args)` right after its `parse_known_args`: the
`HIGH_AVAILABILITY` environment variable switches `enable_high_availability` and three more options on. A
condition reading them is decided by the runtime after that call, so the helper's parse (SPEC 3.11) must make it
too. Each such function is carried into the helper as it is written, under a private name, and called on the
helper's parse in the profile's order. Only a function that needs nothing but its argument, builtins and the
standard library can be carried (the adaptor's package cannot be imported where conditions are decided: it runs
the adaptor); anything else is an error naming the entry.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from patchmerge.fusion.texts import MergeAborted
from patchmerge.fusion.top_imports import top_level_imports

KEY = "runtime.adaptor_args_adjust"


@dataclass(frozen=True)
class Carried:
    """One adjusting function as helper code, and the options it reads without a default (`args.name`): the
    helper's parser must define those, or the call would fail where the adaptor's does not."""

    entry: str
    code: str
    reads: frozenset[str]


def carried_adjusters(entries: tuple[str, ...], read: Callable[[Path], str]) -> list[Carried]:
    """Each entry's function as helper code, `_adjust_<n>(args)`, in order; MergeAborted naming the entry when
    one cannot be read or carried."""
    return [_carried(entry, number, read) for number, entry in enumerate(entries)]


def _carried(entry: str, number: int, read: Callable[[Path], str]) -> Carried:
    file, _, name = entry.partition("::")
    try:
        text = read(Path(file))
    except (OSError, UnicodeDecodeError) as exc:
        raise MergeAborted(f"{KEY} item {entry!r}: cannot read {file}: {exc}") from None
    if not text.strip():  # the merge's reader gives a missing file as no text
        raise MergeAborted(f"{KEY} item {entry!r}: {file} is missing or empty")
    try:
        module = ast.parse(text)
        table = symtable.symtable(text, file, "exec")
    except SyntaxError as exc:
        raise MergeAborted(f"{KEY} item {entry!r}: {file} does not parse ({exc.msg}, line {exc.lineno})") from None

    def refuse(why: str) -> MergeAborted:
        return MergeAborted(f"{KEY} item {entry!r}: {why}")

    defs = [node for node in module.body if isinstance(node, ast.FunctionDef) and node.name == name]
    if len(defs) != 1:
        raise refuse(f"{file} has {'no' if not defs else 'more than one'} module-level def {name}")
    definition = defs[0]
    arguments = definition.args
    if definition.decorator_list or len(arguments.posonlyargs + arguments.args) != 1 or arguments.vararg \
            or arguments.kwonlyargs or arguments.kwarg or arguments.defaults:
        raise refuse(f"{name} must be an undecorated def taking the args alone")
    if definition.returns is not None or any(a.annotation is not None for a in arguments.args):
        raise refuse(f"{name} has annotations, which the helper would evaluate without its module's imports")
    imports = _stdlib_imports(module)
    bound_here = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    needed: list[str] = []
    for free in sorted(_globals_read(_function_table(table, name))):
        if free in imports:
            needed.append(imports[free])
        elif free.startswith("__") or free in bound_here or not hasattr(builtins, free):
            raise refuse(f"{name} reads {free}, which is neither a builtin nor a standard-library import of its "
                         "module, so it cannot be carried into the helper")
    parameter = arguments.args[0].arg
    reads = frozenset(
        node.attr for node in ast.walk(definition)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Name) and node.value.id == parameter
    )
    code = _renamed(text, definition, f"_adjust_{number}", list(dict.fromkeys(needed)), refuse)
    return Carried(entry, f"# {entry}, as the adaptor calls it on its parse ({KEY})\n{code}", reads)


def _function_table(table: symtable.SymbolTable, name: str) -> symtable.SymbolTable:
    return next(child for child in table.get_children() if child.get_name() == name and child.get_type() == "function")


def _globals_read(table: symtable.SymbolTable) -> set[str]:
    """The module-level names the function and the functions inside it read."""
    found = {symbol.get_name() for symbol in table.get_symbols() if symbol.is_global() and symbol.is_referenced()}
    for child in table.get_children():
        found |= _globals_read(child)
    return found


def _stdlib_imports(module: ast.Module) -> dict[str, str]:
    """Names the module binds by a top-level import of the standard library -> that import, as one statement."""
    return {
        found.local: found.statement
        for found in top_level_imports(module)
        if found.module.partition(".")[0] in sys.stdlib_module_names
    }


def _renamed(
    text: str, definition: ast.FunctionDef, name: str, imports: list[str], refuse: Callable[[str], MergeAborted]
) -> str:
    """The module-level def's source under `name`, with the imports it needs at the top of its body (after
    its docstring), at the body's own indentation; nothing else of it changes."""
    lines = text.splitlines()
    start, end = definition.lineno - 1, definition.end_lineno or definition.lineno
    body = definition.body
    has_docstring = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
        and isinstance(body[0].value.value, str)
    first = body[1] if has_docstring and len(body) > 1 else body[0]
    first_line = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))])
    if first_line == definition.lineno or (has_docstring and first is body[1] and first.lineno == body[0].end_lineno):
        raise refuse(f"{definition.name}'s body must start on a line of its own")
    at = first_line - 1
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    code = lines[start:end]
    code[at - start : at - start] = [indent + line for line in imports]
    header, count = re.subn(rf"\bdef\s+{re.escape(definition.name)}\s*\(", f"def {name}(", code[0], count=1)
    if not count:
        raise refuse(f"the def line of {definition.name} cannot be read")
    code[0] = header
    return "\n".join(code) + "\n"
