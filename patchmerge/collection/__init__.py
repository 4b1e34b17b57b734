"""`collect`: derive the patch JSON from the registrations the adaptor would execute, statically.

The adaptor named by the profile (`[collect] entry`) is walked with `ast` only (nothing is imported): calls are
followed, branches on args become patch conditions, apply calls end phases. See `walker` for the rules.
"""

from __future__ import annotations

import time
from pathlib import Path

from patchmerge.collection.dead import find_dead
from patchmerge.collection.model import (
    DIRECT_ASSIGNMENT,
    CollectResult,
    Dead,
    Note,
    Provenance,
    Registration,
    Site,
    Unreadable,
)
from patchmerge.collection.scope import ParseError, Sources
from patchmerge.collection.walker import Interpreter, Settings
from patchmerge.collection.writer import sidecar_path, write_collected
from patchmerge.errors import ProfileError
from patchmerge.model import Patch, PatchSet
from patchmerge.profile import Profile

__all__ = ["CollectResult", "Dead", "Provenance", "Unreadable", "collect", "sidecar_path", "write_collected"]


def collect(root: Path, profile: Profile) -> CollectResult:
    """Walk the profile's entries in `root` and return the patches they register, in registration order."""
    started = time.perf_counter()
    where = str(profile.path) if profile.path else None
    if not profile.collect.entry:
        raise ProfileError("the profile has no 'collect.entry': nothing to walk", where=where)
    if not profile.registrations.calls:
        raise ProfileError("the profile has no 'registrations.calls': no registration shape to look for",
                           where=where)
    sources = Sources(Path(root), profile.sources.roots, profile.sources.rewritable)
    interpreter = Interpreter(sources, Settings.from_profile(profile))
    unreadable: list[Unreadable] = []
    for entry in profile.collect.entry:
        try:
            interpreter.run_entry(entry)
        except LookupError as exc:
            raise ProfileError(str(exc), where=where) from None
        except ParseError as exc:
            unreadable.append(Unreadable(Site(exc.file, 0), f"cannot parse: {exc.message}", (entry,)))
        except RecursionError:
            unreadable.append(Unreadable(Site(entry.partition("::")[0], 0), "nested too deeply to follow", (entry,)))
    registrations, never = interpreter.registry.collected()
    dead, errors = find_dead(sources, profile.registrations.files, interpreter.settings.shapes,
                             interpreter.registry.visited)
    unreadable += interpreter.unreadables
    unreadable += [Unreadable(Site(file, 0), f"registration file cannot be parsed: {why}") for file, why in errors]
    notes = list(interpreter.notes)
    notes += [Note(r.provenance.site, "never-applied", f"{r.target} <- {r.patch_import}: no apply call of "
                                                        f"{r.collection} follows this registration")
              for r in never]
    patch_set, provenance, phases = _patch_set(registrations)
    return CollectResult(
        patch_set=patch_set,
        provenance=provenance,
        unreadable=_unique(unreadable),
        dead=dead,
        outside=interpreter.registry.outside,
        notes=notes,
        files_read=sources.files_read,
        paths_read=sources.paths_read,
        phases=phases,
        seconds=time.perf_counter() - started,
    )


def _unique(items: list[Unreadable]) -> list[Unreadable]:
    seen: dict[tuple[Site, str], Unreadable] = {}
    for item in items:
        seen.setdefault((item.site, item.reason), item)
    return list(seen.values())


def _patch_set(registrations: list[Registration]) -> tuple[PatchSet, dict[str, Provenance], int]:
    """Group by target (first registration order), renumber phases densely, write `phase` only when there is
    more than one."""
    numbers = {p: i for i, p in enumerate(sorted({r.phase for r in registrations if r.phase is not None}))}
    several = len(numbers) > 1
    targets: dict[str, list[Patch]] = {}
    provenance: dict[str, Provenance] = {}
    for reg in registrations:
        plist = targets.setdefault(reg.target, [])
        patch = Patch(
            target=reg.target,
            index=len(plist),
            patch_import=reg.patch_import,
            patch_name=reg.patch_import.rsplit(".", 1)[-1],
            condition=reg.conditions,
            condition_import=reg.condition_imports,
            force_patch=reg.force_patch,
            phase=numbers[reg.phase] if several and reg.phase is not None else None,
            # with phases, the collection says which phases re-apply one runtime Patch (SPEC sections 1 and 8)
            collection=reg.collection if several and reg.phase is not None and reg.collection != DIRECT_ASSIGNMENT
            else None,
        )
        plist.append(patch)
        provenance[patch.id] = reg.provenance
    raw_keys = {t: f"'{t}'" for t in targets}
    return PatchSet(targets=targets, format="json", raw_keys=raw_keys), provenance, len(numbers)
