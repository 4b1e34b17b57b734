"""From probe hits to the coverage figures: patch coverage, module coverage, per-rank hits (SPEC sections 4, 9)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from patchmerge.coverage.inputs import LogInputError
from patchmerge.coverage.model import ORIGINAL, ProbeHit
from patchmerge.model import PatchSet

DAMAGED_EXAMPLES = 5  # per log, in coverage.json: enough to see what garbles the lines


@dataclass
class LogRead:
    path: str
    format: str
    probes: int = 0
    damaged: int = 0
    damaged_examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Tally:
    """What all the logs say, merged: each probe id with the ranks that hit it (None: rank unknown)."""

    hits: dict[str, set[str | None]] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)  # target -> module its probes name
    logs: list[LogRead] = field(default_factory=list)


def read_logs(files: Sequence[Path], pm: pluggy.PluginManager, prefix: str) -> Tally:
    tally = Tally()
    hits, modules = tally.hits, tally.modules
    for path in files:
        try:
            reader = pm.hook.open_log(path=path, prefix=prefix)
            if reader is None:
                raise LogInputError("no log-format plugin reads this file", where=str(path))
            read = LogRead(str(path), str(getattr(reader, "format", type(reader).__name__)))
            for item in reader:
                if isinstance(item, ProbeHit):
                    read.probes += 1
                    hits.setdefault(item.id, set()).add(item.rank)
                    if item.module and item.target not in modules:
                        modules[item.target] = item.module
                else:
                    read.damaged += 1
                    if len(read.damaged_examples) < DAMAGED_EXAMPLES:
                        read.damaged_examples.append({"line": item.line, "excerpt": item.excerpt})
        except OSError as exc:
            raise LogInputError(f"cannot read log file: {exc.strerror or exc}", where=str(path)) from None
        tally.logs.append(read)
    return tally


def coverage_document(patch_set: PatchSet, tally: Tally) -> dict[str, Any]:
    """coverage.json: the SPEC section 9 fields, then originals_hit and logs, then modules, ranks and
    ids_not_in_json (probe ids the patch JSON does not list: logs of another patch set?)."""
    hits = tally.hits
    patches = patch_set.patches
    module_of = modules_of(list(patch_set.targets), tally.modules)
    probed = {pid.rpartition("#")[0] for pid in hits}
    # a module is hit when any fused branch in it ran, the original under a router included
    modules: dict[str, dict[str, Any]] = {}
    for target in patch_set.targets:
        entry = modules.setdefault(module_of[target], {"module": module_of[target], "hit": False, "targets": []})
        entry["targets"].append(target)
        entry["hit"] = entry["hit"] or target in probed
    rows = [
        {
            "id": p.id,
            "target": p.target,
            "patch_import": p.patch_import,
            "hit": p.id in hits,
            "ranks": known_ranks(hits.get(p.id, ())),
        }
        for p in patches
    ]
    patches_hit = sum(row["hit"] for row in rows)
    modules_hit = sum(m["hit"] for m in modules.values())
    known_ids = {p.id for p in patches}
    return {
        "patches_total": len(rows),
        "patches_hit": patches_hit,
        "patch_ratio": ratio(patches_hit, len(rows)),
        "modules_total": len(modules),
        "modules_hit": modules_hit,
        "module_ratio": ratio(modules_hit, len(modules)),
        "lines_damaged": sum(log.damaged for log in tally.logs),
        "patches": rows,
        "originals_hit": originals(patch_set, tally, module_of),
        "logs": [vars(log) for log in tally.logs],
        "modules": list(modules.values()),
        "ranks": per_rank(hits, known_ids),
        "ids_not_in_json": sorted(pid for pid in hits if pid not in known_ids and not is_original(pid)),
    }


def originals(patch_set: PatchSet, tally: Tally, module_of: dict[str, str]) -> list[dict[str, Any]]:
    """Targets whose original ran under a router: JSON targets in file order, then any others the logs name."""
    seen = [pid.rpartition("#")[0] for pid in tally.hits if is_original(pid)]
    order = {t: i for i, t in enumerate(patch_set.targets)}
    seen.sort(key=lambda t: (order.get(t, len(order)), t))
    return [
        {
            "target": target,
            "module": module_of.get(target) or tally.modules.get(target) or derive_module(target),
            "ranks": known_ranks(tally.hits[f"{target}#{ORIGINAL}"]),
        }
        for target in seen
    ]


def per_rank(hits: dict[str, set[str | None]], known_ids: set[str]) -> list[dict[str, Any]]:
    """Patches and originals each rank hit; rank null gathers the probes no file, line or payload placed."""
    counts: dict[str | None, list[int]] = {}
    for pid, ranks in hits.items():
        slot = 1 if is_original(pid) else 0 if pid in known_ids else None
        if slot is None:
            continue
        for rank in ranks:
            counts.setdefault(rank, [0, 0])[slot] += 1
    ordered = known_ranks(counts) + ([None] if None in counts else [])
    return [{"rank": r, "patches_hit": counts[r][0], "originals_hit": counts[r][1]} for r in ordered]


def modules_of(targets: list[str], seen: dict[str, str]) -> dict[str, str]:
    """The module holding each target: as its probes name it, else as the probes of another member of the same
    class name it, else derived from the dotted name. (Not from module-level siblings: a package re-exports
    names from several submodules, so `pkg.f` and `pkg.g` may well live in different files.)"""
    by_class: dict[str, set[str]] = {}
    for target, module in seen.items():
        owner = target.rpartition(".")[0]
        if owner.rpartition(".")[2][:1].isupper():
            by_class.setdefault(owner, set()).add(module)
    result = {}
    for target in targets:
        same_class = by_class.get(target.rpartition(".")[0], set())
        if target in seen:
            result[target] = seen[target]
        elif len(same_class) == 1:
            result[target] = next(iter(same_class))
        else:
            result[target] = derive_module(target)
    return result


def derive_module(target: str) -> str:
    """The dotted prefix before the first component that starts with an uppercase letter (a class), else the
    target minus its last component: `megatron.core.x.Attention.forward` -> `megatron.core.x`."""
    parts = target.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part[:1].isupper():
            return ".".join(parts[:i])
    return ".".join(parts[:-1]) or target


def is_original(pid: str) -> bool:
    return pid.endswith("#" + ORIGINAL)


def known_ranks(ranks: Iterable[str | None]) -> list[str]:
    """Known ranks, numeric ones in number order."""
    return sorted((r for r in ranks if r is not None), key=lambda r: (not r.isdigit(), int(r) if r.isdigit() else 0, r))


def ratio(hit: int, total: int) -> float:
    return round(hit / total, 4) if total else 0.0
