"""What the Markdown and HTML renderers share: the per-target view of a coverage document, number formats."""

from __future__ import annotations

from typing import Any


def targets_view(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Per target, in patch-file order: module, its patch rows, and the ranks its original ran on (None: never)."""
    module_of = {t: m["module"] for m in document["modules"] for t in m["targets"]}
    originals = {o["target"]: o["ranks"] for o in document["originals_hit"]}
    view: dict[str, dict[str, Any]] = {}
    for row in document["patches"]:
        target = row["target"]
        entry = view.setdefault(
            target,
            {"target": target, "module": module_of.get(target, ""), "patches": [], "original": originals.get(target)},
        )
        entry["patches"].append(row)
    for original in document["originals_hit"]:  # targets the logs name but the patch JSON does not
        if original["target"] not in view:
            view[original["target"]] = {**original, "patches": [], "original": original["ranks"]}
    return list(view.values())


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def rank_name(rank: str | None) -> str:
    return "unknown" if rank is None else rank


def ranks_text(ranks: list[str]) -> str:
    return ", ".join(ranks) if ranks else "rank unknown"
