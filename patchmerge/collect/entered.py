"""Which functions one call of the adaptor enters, read by the collect interpreter: for its own parse of the
command line, which features' `register_args` run (MindSpeed-LLM 26.1.0 walks its feature list, and both
MindSpeed and MindSpeed-LLM define features that are not in it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from patchmerge.collect.scope import ParseError, Sources
from patchmerge.collect.walker import Interpreter, Settings
from patchmerge.profile import Profile


@dataclass
class Entered:
    """The defs a call entered, as (file relative to ROOT_DIR, line of the `def`); `doubts` says where the walk
    may have missed one (nothing is narrowed on a doubt)."""

    defs: set[tuple[str, int]] = field(default_factory=set)
    doubts: list[str] = field(default_factory=list)


def functions_entered(root: Path, profile: Profile, entry: str, watched: frozenset[str]) -> Entered:
    """Run the profile's module entries (`collect.entry` items naming a file: importing them sets up the state the
    call reads, a feature list say), then `entry` ("REL/FILE.py::qualname"), recording the defs it enters. A call
    by one of the `watched` names that cannot be followed, or anything the walk cannot read, is a doubt.
    LookupError when `entry` names no function."""
    sources = Sources(Path(root), profile.sources.roots, profile.sources.rewritable)
    interpreter = Interpreter(sources, Settings.from_profile(profile))
    found = Entered()
    try:
        for module_entry in profile.collect.entry:
            if "::" not in module_entry:
                interpreter.run_entry(module_entry)
        before = len(interpreter.unreadables)
        interpreter.entered, interpreter.watched = found.defs, watched
        interpreter.run_entry(entry)
    except ParseError as exc:
        found.doubts.append(f"{exc.file} cannot be parsed: {exc.message}")
        return found
    except RecursionError:
        found.doubts.append("the calls nest too deeply to follow")
        return found
    found.doubts += [f"{u.site}: {u.reason}" for u in interpreter.unreadables[before:]]
    found.doubts += [f"{site}: a call that may add options cannot be followed" for site in interpreter.unfollowed]
    return found
