"""The small runtime module a merge writes into the tree (stdlib only, so importing it can never form a cycle).

In-source code uses two things of it: the probes (`first_run`) and the adaptor's own parse of the command line
(`adaptation_args`), which is all a merge with no deferred binding writes. Deferred bindings also use the part
in `runtime_deferred`: a "settle" function per binding builds the patched object once per process, as
MindSpeed's adaptation does, and binds it where the runtime would (the module or class, and every loaded module
holding the original or the stand-in under the same name): functions settle on first call (members on first
access); classes and values when the args are set (the args setter calls `args_ready()`), and not before the
patch modules they import from have finished importing.
"""

import ast
import hashlib
import re

from patchmerge.fusion.runtime_deferred import DEFERRED_TEMPLATE


def pending_flag(pid: str, chosen: bool = False) -> str:
    """The helper's flag that a probed definition tests (the helper computes the same name)."""
    return ("pending_chosen_" if chosen else "pending_") + hashlib.sha1(pid.encode()).hexdigest()[:10]


# a probe in a module that imports torch tests a flag of the helper module, not a global of its own (see
# InSourceWriter.probe), as every probe of a tree fused by an earlier version does
_HELPER_FLAG = re.compile(r"\b_patchmerge\.(pending_(?:chosen_)?[0-9a-f]{10})\b")
_FLAG_LISTS = re.compile(r"^globals\(\)\.update\(dict\.fromkeys\((\[.*\]), (?:True|False)\)\)$", re.MULTILINE)


def flags_in(text: str) -> set[str]:
    """The helper's flags a fused module tests, or a helper lists (it keeps the flags of the files it fused)."""
    listed = {flag for found in _FLAG_LISTS.findall(text) for flag in ast.literal_eval(found)}
    return set(_HELPER_FLAG.findall(text)) | listed


_BRANCHES = re.compile(r"^BRANCHES = (.*)$", re.MULTILINE)


def with_earlier_merge(helper: str, parser_body: str, branches: dict[str, tuple[str, str]]) -> tuple[str, dict]:
    """A tree merged in steps: the files an earlier merge fused still read its helper's options and name its
    branches, so the rewritten helper keeps them (this merge's own win where both have one)."""
    ours = _option_groups(parser_body)
    earlier = _option_groups("\n".join(line[4:] for line in _parser_lines(helper)))
    defined = {dest for options in ours.values() for dest in options}  # this merge's own win, in whatever group
    kept = {group: {d: line for d, line in options.items() if d not in defined} for group, options in earlier.items()}
    if any(kept.values()):
        merged = {group: {**kept.get(group, {}), **ours.get(group, {})} for group in {**kept, **ours}}
        lines = [merged[("", "")][dest] for dest in sorted(merged[("", "")])] if ("", "") in merged else []
        for (parse, condition), options in merged.items():
            if condition and options:
                lines += [parse, condition, *(options[dest] for dest in sorted(options))]
        parser_body = "\n".join(lines)
    found = _BRANCHES.search(helper)
    earlier_branches = ast.literal_eval(found[1]) if found else {}
    return parser_body, {**earlier_branches, **branches}


def _parser_lines(helper: str) -> list[str]:
    """The lines of a helper's `adaptation_args` that build its parser (between the parser and its parse)."""
    lines = helper.splitlines()
    start = next((n for n, line in enumerate(lines) if "parser = argparse.ArgumentParser(" in line), None)
    if start is None:
        return []
    end = next((n for n in range(start, len(lines)) if "known, unknown = parser.parse_known_args" in lines[n]), start)
    return lines[start + 1:end]


_DEST = re.compile(r"\bdest='([^']+)'")


def _option_groups(body: str) -> dict[tuple[str, str], dict[str, str]]:
    """A parser body's option lines by dest, grouped: ("", "") for the options always added, else (the parse
    line, the `if` line) of the block that adds them only when its condition holds."""
    groups: dict[tuple[str, str], dict[str, str]] = {}
    group, parse = ("", ""), ""
    for line in body.splitlines():
        if line.startswith("    args = parser.parse_known_args("):
            parse = line
        elif line.startswith("    if "):
            group = (parse, line)
        elif (dest := _DEST.search(line)) is not None:
            groups.setdefault(group if line.startswith("        ") else ("", ""), {})[dest[1]] = line
    return groups

IN_SOURCE_TEMPLATE = '''"""Fused MindSpeed patches: settled once per process, then out of the way.

Written by patchmerge; the fused stanzas at the end of each patched module say what is patched and when.
"""

import functools
import hashlib
import importlib
import json
import os
import sys
import threading

ARGS_ACCESSOR = {args_accessor!r}
PROBE_PREFIX = {probe_prefix!r}  # None: a tree merged with --no-probes writes no probe line
# each in-source branch's patch_import and condition (TARGET#INDEX -> (patch_import, condition)), for its probe
BRANCHES = {branches!r}
_LOCK = threading.RLock()  # guards the pending classes and values; each fused binding has its own lock
_PENDING = []  # settlers of classes and values, run when the args are set
_STATE = {{"args_ready": False}}
_ORIGINALS = {{}}  # (module, name) -> the object bound before any fused patch, as the adaptor registered it
_MISSING = object()
_INHERITED = object()  # a routed inherited member that no patch changed: it is looked up on the base again


def unpatched(module_name, name):
    """A patch that is itself a patched name: the runtime registered the object bound before patching."""
    module = importlib.import_module(module_name)
    return _ORIGINALS.get((module_name, name), getattr(module, name))


TAKEN = []  # (target, patch id or "TARGET#original"), in the order the fused branches were first taken


_RAN = set()  # first branch id of each in-source binding that has run in this process


def pending_flag(pid, chosen=False):
    """The name of the flag a fused definition tests before its probe: true until its first run. The flag of a
    conditional branch's def (`chosen`) is set only when its branch is chosen at import."""
    digest = hashlib.sha1(pid.encode()).hexdigest()[:10]
    return ("pending_chosen_" if chosen else "pending_") + digest


_HOLDERS = {{}}  # flag -> the globals of each module that declares it (as "_patchmerge_" + flag)
_CLEARED = set()  # the flags of the definitions that have run
_ARMED = set()  # the flags of the conditional branches chosen at import


def probe_flag(holder, flag):
    """A module declares the flag one of its probes tests, as a global of its own (reading one costs less than
    an attribute of this module): its value now, kept current from here on."""
    _HOLDERS.setdefault(flag, []).append(holder)
    return flag not in _CLEARED and (not flag.startswith("pending_chosen_") or flag in _ARMED)


def _set_flag(flag, value):
    for holder in _HOLDERS.get(flag, ()):
        holder["_patchmerge_" + flag] = value
    if flag in globals():  # probes in modules that import torch test the flags of this module
        globals()[flag] = value
{helper_flags}

def first_run(module_name, *ids):
    """An in-source fused definition runs: the first time, probe each branch it holds (TARGET#INDEX, or
    TARGET#original when no replacement applies), and clear its flag."""
    for flag in (pending_flag(ids[0]), pending_flag(ids[0], chosen=True)):
        _CLEARED.add(flag)
        _set_flag(flag, False)
    if ids[0] in _RAN:
        return
    _RAN.add(ids[0])
    for pid in ids:
        _probe(module_name, pid.rpartition("#")[0], pid, *BRANCHES.get(pid, ("", "")))


_SELECTED = set()  # conditional branches chosen when their module was imported


def select(*ids):
    """A conditional branch was chosen at import: the first run of its code is now a run of that branch."""
    _SELECTED.update(ids)
    for pid in ids:
        if pid not in _RAN:
            _ARMED.add(pending_flag(pid, chosen=True))
            _set_flag(pending_flag(pid, chosen=True), True)


def first_run_selected(module_name, *ids):
    """`first_run` for the code of a conditional branch, which MindSpeed code may also call directly: only a
    run of the branch that was chosen counts (trees merged before the probe flags call this)."""
    if ids[0] in _RAN or ids[0] not in _SELECTED:
        return
    first_run(module_name, *ids)


def announce(module_name, branches, taken):
    """Every fused binding reports here once, when it settles, which of its branches it took (each patch that
    applied, or the original when no replacement did): the one place coverage probes hook into. Each branch
    is (target, id, kind, patch_import, condition)."""
    chosen = set(taken)
    for target in dict.fromkeys(branch[0] for branch in branches):
        own = [branch for branch in branches if branch[0] == target]
        if not any(pid in chosen and kind != "wrap" for _, pid, kind, _, _ in own):
            _probe(module_name, target, target + "#original", "", "")
        for _, pid, _, patch_import, condition in own:
            if pid in chosen:
                _probe(module_name, target, pid, patch_import, condition)


def _probe(module_name, target, pid, patch_import, condition):
    TAKEN.append((target, pid))
    if PROBE_PREFIX is None:
        return
    rank = os.environ.get("RANK", os.environ.get("LOCAL_RANK"))
    payload = {{
        "id": pid, "target": target, "patch_import": patch_import, "condition": condition,
        "module": module_name, "rank": rank, "pid": os.getpid(),
    }}
    # one write and a flush per branch and process: a worker killed later loses nothing already taken
    sys.stderr.write(PROBE_PREFIX + " " + json.dumps(payload) + "\\n")
    sys.stderr.flush()


_ADAPTATION_ARGS = []


def adaptation_args():
    """The args the adaptor parses itself from the command line (its parse_known_args of sys.argv), for the
    options fused conditions read, as its parser defines them: parsed once per process, no later than the first
    import of a module whose fused definitions depend on them."""
    if not _ADAPTATION_ARGS:
        import argparse

        parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False, conflict_handler="resolve")
{adaptor_options}
        known, unknown = parser.parse_known_args(sys.argv[1:])
{adjust_calls}{unknown_args}        _ADAPTATION_ARGS.append(known)
    return _ADAPTATION_ARGS[0]
{argv_parses}

'''

TEMPLATE = IN_SOURCE_TEMPLATE + DEFERRED_TEMPLATE


def render(
    args_accessor: str,
    probe_prefix: str | None,
    adaptor_options: str = "",
    branches: dict[str, tuple[str, str]] | None = None,
    deferred: bool = True,
    flags: set[str] | frozenset[str] = frozenset(),
    argv_parses: dict[str, str] | None = None,
    unknown_args: bool = False,
    adjusters: list[str] | None = None,
) -> str:
    """The helper module; `adaptor_options` is the body that adds the options fused conditions read, `branches`
    the patch_import and condition of each in-source branch its probes name, `flags` the probe flags the fused
    definitions test."""
    options = "\n".join("    " + line if line else line for line in (adaptor_options or "    pass").splitlines())
    template = TEMPLATE if deferred else IN_SOURCE_TEMPLATE.rstrip() + "\n"
    return template.format(
        args_accessor=args_accessor,
        probe_prefix=probe_prefix,
        adaptor_options=options,
        branches=dict(sorted((branches or {}).items())) if probe_prefix is not None else {},
        helper_flags=_helper_flags(flags),
        argv_parses=(UNKNOWN_ARGS_DEF if unknown_args else "") + _adjusters(adjusters or [])
        + _argv_parses(argv_parses or {}),
        unknown_args="        _add_unknown(known, unknown)\n" if unknown_args else "",
        adjust_calls="".join(f"        _adjust_{n}(known)\n" for n in range(len(adjusters or []))),
    )


def _helper_flags(flags: set[str] | frozenset[str]) -> str:
    """The flags of the helper itself that probes test (`_patchmerge.pending_...`): a plain definition's pending
    from the start, a branch's once its branch is chosen; plain module attributes, so reading one stays cheap."""
    if not flags:
        return ""
    pending = sorted(f for f in flags if not f.startswith("pending_chosen_"))
    chosen = sorted(f for f in flags if f.startswith("pending_chosen_"))
    return (
        "\n\n# the flags probes in modules that import torch test, as attributes of this module\n"
        f"globals().update(dict.fromkeys({pending!r}, True))\n"
        f"globals().update(dict.fromkeys({chosen!r}, False))\n"
    )


# what the adaptor takes in from the options its parser does not know (runtime.adaptor_unknown_args), as
# MindSpeed-LLM 26.1.0's parser_unknown_args does
UNKNOWN_ARGS_DEF = '''

def _add_unknown(args, unknown):
    """Each `--name` the parser left unknown becomes args.name: True alone, its value with one, the list of its
    values with several (the adaptor's own parse does the same)."""
    key = values = None
    for token in unknown:
        if token.startswith("--"):
            _set_unknown(args, key, values)
            key, values = token, None
        else:
            values = [token] if values is None else values + [token]
    _set_unknown(args, key, values)


def _set_unknown(args, key, values):
    if key is not None:
        value = True if values is None else values[0] if len(values) == 1 else values
        setattr(args, key[2:].replace("-", "_"), value)
'''


def _adjusters(adjusters: list[str]) -> str:
    """The functions the adaptor calls on its parse (runtime.adaptor_args_adjust), carried as they are written."""
    return "".join(f"\n\n{code.rstrip()}\n" for code in adjusters)


def _argv_parses(parses: dict[str, str]) -> str:
    """The parses of the command line that conditions calling a function make (see insource.condition_calls)."""
    if not parses:
        return ""
    defs = "\n\n".join(parses[name] for name in sorted(parses))
    return f"\n\n_ARGV_PARSES = {{}}  # name -> that parse, made once per process\n\n\n{defs}"


def earlier_argv_parses(helper: str) -> dict[str, str]:
    """An earlier merge's parses of the command line, which the files it fused still read, and the option
    types its parser calls."""
    try:
        tree = ast.parse(helper)
    except SyntaxError:
        return {}
    return {
        node.name: (ast.get_source_segment(helper, node) or "") + "\n"
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and re.fullmatch(r"(argv|type)_[0-9a-f]{10}", node.name)
    }
