"""Which functions one call of the adaptor enters, read by the collect interpreter: for its own parse of the
command line, which features' `register_args` run (MindSpeed-LLM 26.1.0 walks its feature list, and both
MindSpeed and MindSpeed-LLM define features that are not in it).

The walk is trusted only where it cannot have missed a def that adds options: every call in an entered def
(its lambdas and comprehensions included) by the name of a function that adds options, itself or through
others, must have been followed into a def. A call it could not resolve, a recursion it cut, a comprehension or
a branch it did not take: each is a doubt, and the caller then narrows nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from patchmerge.collection.scope import ParseError, Sources
from patchmerge.collection.walker import Interpreter, Settings
from patchmerge.profile import Profile


@dataclass
class Entered:
    """The defs a call entered, as (file relative to ROOT_DIR, line of the `def`); `doubts` says where the walk
    may have missed one (nothing is narrowed on a doubt)."""

    defs: set[tuple[str, int]] = field(default_factory=set)
    doubts: list[str] = field(default_factory=list)


def functions_entered(root: Path, profile: Profile, entry: str, adders: Iterable[ast.Module]) -> Entered:
    """Run the profile's module entries (`collect.entry` items naming a file: importing them sets up the state the
    call reads, a feature list say), then `entry` ("REL/FILE.py::qualname"), recording the defs it enters.
    `adders`: the modules whose defs add options (their add_argument calls). LookupError when `entry` names no
    function."""
    sources = Sources(Path(root), profile.sources.roots, profile.sources.rewritable)
    interpreter = Interpreter(sources, Settings.from_profile(profile))
    found = Entered()
    try:
        for module_entry in profile.collect.entry:
            if "::" not in module_entry:
                interpreter.run_entry(module_entry)
        before = len(interpreter.unreadables)
        interpreter.calls.entered = found.defs
        interpreter.run_entry(entry)
    except ParseError as exc:
        found.doubts.append(f"{exc.file} cannot be parsed: {exc.message}")
        return found
    except RecursionError:
        found.doubts.append("the calls nest too deeply to follow")
        return found
    found.doubts += [f"{u.site}: {u.reason}" for u in interpreter.unreadables[before:]]
    defs = _entered_defs(sources, found.defs)
    names = _adding_names([*adders, *(tree for _, tree, _ in defs)]) - {"add_argument"}  # the parser's own
    for file, _, node in defs:
        for call in _calls_in(node):
            if _called_name(call) in names and (file, call.lineno, call.col_offset) not in interpreter.calls.followed:
                found.doubts.append(f"{file}:{call.lineno}: `{ast.unparse(call.func)}(...)` may add options, and the "
                                    "walk did not follow it")
    return found


def _entered_defs(sources: Sources, entered: set[tuple[str, int]]) -> list[tuple[str, ast.Module, ast.AST]]:
    """(file, its module, the def) of each entered def."""
    out = []
    for file, line in sorted(entered):
        module = sources.module_of_file(file)
        tree = sources.module_ast(module) if module is not None else None
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.lineno == line:
                out.append((file, tree, node))
    return out


def _calls_in(function: ast.AST) -> list[ast.Call]:
    """The calls a def makes itself: in its body, lambdas and comprehensions, not in the defs nested in it."""
    calls: list[ast.Call] = []
    todo = list(ast.iter_child_nodes(function))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(node, ast.Call):
            calls.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return calls


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _adding_names(trees: Iterable[ast.Module]) -> set[str]:
    """The names of the defs that add options: those that call add_argument, and those that call (by name) one
    that does, to a fixed point."""
    calls: dict[str, set[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                named = {_called_name(call) for call in _calls_in(node)}
                calls.setdefault(node.name, set()).update(name for name in named if name)
    names = {"add_argument"}
    grown = True
    while grown:
        grown = False
        for name, called in calls.items():
            if name not in names and called & names:
                names.add(name)
                grown = True
    return names
