"""What `merge` tells people and scripts: report.json, summary.md, and the patches left over (unresolved.json,
unfused.json) in the input format so they can be fed back in (SPEC sections 3.7 and 9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import inflection
import pluggy

from patchmerge.errors import EXIT_OK, EXIT_PARTIAL
from patchmerge.fusion.model import MergeResult, Outcome, PatchOutcome
from patchmerge.loading import write_patch_file
from patchmerge.model import FusionKind, PatchSet

REPORT_JSON = "report.json"
SUMMARY_MD = "summary.md"
UNRESOLVED_JSON = "unresolved.json"
UNFUSED_JSON = "unfused.json"
TERMINAL_LIST_LIMIT = 20

# reasons the planner gives when a name cannot be found in the source
UNRESOLVED_PREFIXES = (
    "target does not resolve",
    "patch_import does not resolve",
    "condition_import does not resolve",
)
_DONE = (Outcome.FUSED, Outcome.ALREADY_FUSED)


def write_reports(
    report_dir: Path,
    result: MergeResult,
    patch_set: PatchSet,
    pm: pluggy.PluginManager,
    *,
    plan_seconds: float | None = None,
    merge_seconds: float | None = None,
) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    outcomes = _in_file_order(result, patch_set)
    document = report_document(result, patch_set, plan_seconds=plan_seconds, merge_seconds=merge_seconds)
    (report_dir / REPORT_JSON).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (report_dir / SUMMARY_MD).write_text(summary_markdown(result, document), encoding="utf-8")
    # both files always exist, so a script can feed them back without checking first
    unresolved = [o.patch for o in outcomes if is_unresolved(o)]
    unfused = [o.patch for o in outcomes if o.outcome not in _DONE and not is_unresolved(o)]
    write_patch_file(patch_set, unresolved, report_dir / UNRESOLVED_JSON, pm)
    write_patch_file(patch_set, unfused, report_dir / UNFUSED_JSON, pm)


def is_unresolved(outcome: PatchOutcome) -> bool:
    """A failed patch whose names could not be found (as opposed to one found but not fusable)."""
    if outcome.outcome is not Outcome.FAILED:
        return False
    return outcome.kind is None or (outcome.reason or "").startswith(UNRESOLVED_PREFIXES)


def report_document(
    result: MergeResult,
    patch_set: PatchSet,
    *,
    plan_seconds: float | None = None,
    merge_seconds: float | None = None,
) -> dict[str, Any]:
    """The report.json content: the SPEC section 9 fields plus targets_total, warnings and timings."""
    outcomes = _in_file_order(result, patch_set)
    return {
        "patches_total": len(outcomes),
        "patches_fused": result.count(Outcome.FUSED),
        "patches_already_fused": result.count(Outcome.ALREADY_FUSED),
        "patches_skipped": result.count(Outcome.SKIPPED),
        "patches_failed": result.count(Outcome.FAILED),
        "by_kind": by_kind(result),
        "patches": [
            {
                "id": o.patch.id,
                "target": o.patch.target,
                "patch_import": o.patch.patch_import,
                "kind": None if o.kind is None else str(o.kind),
                "outcome": str(o.outcome),
                "reason": o.reason,
                "notes": list(o.notes),
                "strategy": o.strategy,
                "strategy_reason": o.strategy_reason,
            }
            for o in outcomes
        ],
        "by_strategy": by_strategy(result),
        "files_written": files_written(result),
        "targets_total": len(patch_set.targets),
        "warnings": list(result.warnings),
        "timings": {"plan_seconds": _round(plan_seconds), "merge_seconds": _round(merge_seconds)},
    }


def by_kind(result: MergeResult) -> dict[str, int]:
    """Fused and already-fused patches per kind; every kind is listed (0 too) so scripts can index it."""
    counts = {str(kind): 0 for kind in FusionKind}
    for o in result.outcomes:
        if o.outcome in _DONE and o.kind is not None:
            counts[str(o.kind)] += 1
    return counts


def by_strategy(result: MergeResult) -> dict[str, int]:
    """Fused patches by strategy: "in-source" (at the definition) or "deferred" (a settle stanza)."""
    counts: dict[str, int] = {}
    for outcome in result.outcomes:
        if outcome.outcome is Outcome.FUSED and outcome.strategy:
            counts[outcome.strategy] = counts.get(outcome.strategy, 0) + 1
    return dict(sorted(counts.items()))


def files_written(result: MergeResult) -> list[str]:
    return [Path(e.path).as_posix() for e in result.edits if e.new != e.original]


def exit_status(result: MergeResult) -> int:
    return EXIT_OK if all(o.outcome in _DONE for o in result.outcomes) else EXIT_PARTIAL


def summary_text(result: MergeResult) -> str:
    """A few lines for the terminal; the full list is in summary.md."""
    targets = len({o.patch.target for o in result.outcomes})
    lines = [f"{_count(len(result.outcomes), 'patch')} in {_count(targets, 'target')}: {_totals(result)}"]
    kinds = _kinds_text(result)
    if kinds:
        lines.append(f"by kind: {kinds}")
    strategies = by_strategy(result)
    if strategies:
        lines.append("by strategy: " + ", ".join(f"{name} {count}" for name, count in strategies.items()))
    pending = _not_done(result.outcomes)
    if pending:
        lines.append("not fused:")
        for o in pending[:TERMINAL_LIST_LIMIT]:
            lines.append(f"  {o.outcome} {o.patch.id}: {o.reason or 'no reason given'}")
        if len(pending) > TERMINAL_LIST_LIMIT:
            lines.append(f"  ... and {len(pending) - TERMINAL_LIST_LIMIT} more")
    for warning in result.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def summary_markdown(result: MergeResult, document: dict[str, Any]) -> str:
    """summary.md: the same facts as report.json, for a person."""
    out = ["# patchmerge merge report", "", f"Source tree: `{result.root}`", ""]
    out += ["## Totals", "", "| | count |", "|---|---:|"]
    out.append(f"| targets | {document['targets_total']} |")
    out.append(f"| patches | {document['patches_total']} |")
    for key, label in (
        ("patches_fused", "fused"),
        ("patches_already_fused", "already fused"),
        ("patches_skipped", "skipped"),
        ("patches_failed", "failed"),
    ):
        out.append(f"| {label} | {document[key]} |")
    timings = {k: v for k, v in document["timings"].items() if v is not None}
    if timings:
        out += ["", "Timings: " + ", ".join(f"{k.removesuffix('_seconds')} {v:.2f} s" for k, v in timings.items())]

    out += ["", "## By kind", ""]
    kinds = {k: v for k, v in document["by_kind"].items() if v}
    if kinds:
        out += ["| kind | patches |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in kinds.items()]
    else:
        out.append("No patch fused.")

    out += ["", "## By strategy", ""]
    deferred = [o for o in result.outcomes if o.outcome is Outcome.FUSED and o.strategy == "deferred"]
    if document["by_strategy"]:
        out += ["| strategy | patches |", "|---|---:|"]
        out += [f"| {k} | {v} |" for k, v in document["by_strategy"].items()]
    if deferred:
        out += ["", "Fused by the deferred strategy (a settle stanza at the end of the module), and why:", ""]
        out += [f"- `{_cell(o.patch.id)}`: {_cell(o.strategy_reason or '')}" for o in deferred]

    pending = _not_done(result.outcomes)
    out += ["", f"## Not fused ({len(pending)})", ""]
    if pending:
        out += ["| patch | outcome | reason |", "|---|---|---|"]
        out += [f"| `{_cell(o.patch.id)}` | {o.outcome} | {_cell(o.reason or '')} |" for o in pending]
        out += ["", f"Fed back in: `{UNRESOLVED_JSON}` (names not found) and `{UNFUSED_JSON}` (the others)."]
    else:
        out.append("Every patch is fused.")

    noted = [o for o in result.outcomes if o.notes and o.outcome in _DONE]
    if noted:
        out += ["", "## Fidelity notes", ""]
        out += [f"- `{o.patch.id}`: {_cell(note)}" for o in noted for note in o.notes]

    written = document["files_written"]
    out += ["", f"## Files written ({len(written)})", ""]
    out += [f"- `{path}`" for path in written] or ["None."]
    if result.warnings:
        out += ["", "## Warnings", ""] + [f"- {_cell(w)}" for w in result.warnings]
    return "\n".join(out) + "\n"


# -- helpers ----------------------------------------------------------------------------------------------


def _in_file_order(result: MergeResult, patch_set: PatchSet) -> list[PatchOutcome]:
    """Outcomes in input-file order (stages may finish them in another order); unknown ones keep theirs, last."""
    position = {p.id: i for i, p in enumerate(patch_set.patches)}
    return sorted(result.outcomes, key=lambda o: position.get(o.patch.id, len(position)))


def _not_done(outcomes: list[PatchOutcome]) -> list[PatchOutcome]:
    """Failed first (they need attention), then skipped, each in the order given."""
    return [o for o in outcomes if o.outcome is Outcome.FAILED] + [o for o in outcomes if o.outcome is Outcome.SKIPPED]


def _totals(result: MergeResult) -> str:
    parts = [
        f"{result.count(Outcome.FUSED)} fused",
        f"{result.count(Outcome.ALREADY_FUSED)} already fused",
        f"{result.count(Outcome.SKIPPED)} skipped",
        f"{result.count(Outcome.FAILED)} failed",
    ]
    return ", ".join(parts)


def _kinds_text(result: MergeResult) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in by_kind(result).items() if n)


def _cell(text: str) -> str:
    """Keep a reason inside its Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun if number == 1 else inflection.pluralize(noun)}"
