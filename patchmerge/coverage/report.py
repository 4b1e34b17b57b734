"""What `coverage` writes: coverage.json (what --json prints), coverage.md, coverage.html, and not_hit.json
(the patches never hit, in the input format, to feed back in). Renderers read only the coverage document,
so a caller holding one (`check`) can render it again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pluggy

from patchmerge.coverage.html import render_html
from patchmerge.coverage.view import percent, rank_name, ranks_text, targets_view
from patchmerge.errors import PatchmergeError
from patchmerge.loading import write_patch_file
from patchmerge.model import PatchSet

COVERAGE_JSON = "coverage.json"
COVERAGE_MD = "coverage.md"
COVERAGE_HTML = "coverage.html"
NOT_HIT_JSON = "not_hit.json"


def write_reports(out_dir: Path, document: dict[str, Any], patch_set: PatchSet, pm: pluggy.PluginManager) -> None:
    not_hit = {row["id"] for row in document["patches"] if not row["hit"]}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / COVERAGE_JSON).write_text(dumps(document), encoding="utf-8")
        (out_dir / COVERAGE_MD).write_text(render_markdown(document, not_hit_name(patch_set)), encoding="utf-8")
        (out_dir / COVERAGE_HTML).write_text(render_html(document), encoding="utf-8")
        not_hit_patches = [p for p in patch_set.patches if p.id in not_hit]
        write_patch_file(patch_set, not_hit_patches, out_dir / not_hit_name(patch_set), pm)
    except OSError as exc:
        raise PatchmergeError(f"cannot write the coverage report: {exc.strerror or exc}", where=str(out_dir)) from None


def not_hit_name(patch_set: PatchSet) -> str:
    """not_hit.json; for an input in another format, its suffix (not_hit.toml): format plugins recognise a
    file by its suffix, and the file exists to be fed back in."""
    suffix = patch_set.source.suffix.lower() if patch_set.source is not None else ""
    return NOT_HIT_JSON if suffix in ("", ".json") or patch_set.format == "json" else f"not_hit{suffix}"


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def summary_text(document: dict[str, Any], out_dir: Path, not_hit_file: str = NOT_HIT_JSON) -> str:
    """A few lines for the terminal."""
    d = document
    lines = [
        f"patches hit: {d['patches_hit']}/{d['patches_total']} ({percent(d['patch_ratio'])})",
        f"modules hit: {d['modules_hit']}/{d['modules_total']} ({percent(d['module_ratio'])})",
        f"logs read: {len(d['logs'])}, probes {sum(log['probes'] for log in d['logs'])}, "
        f"damaged probe lines {d['lines_damaged']}",
    ]
    if d["ids_not_in_json"]:
        lines.append(f"warning: {len(d['ids_not_in_json'])} probe ids are not in the patch JSON (another patch set?)")
    lines.append(f"report: {out_dir / COVERAGE_HTML}  (not hit, to feed back in: {out_dir / not_hit_file})")
    return "\n".join(lines)


def render_markdown(document: dict[str, Any], not_hit_file: str = NOT_HIT_JSON) -> str:
    d = document
    out = ["# patchmerge coverage report", "", "## Totals", "", "| | hit | total | ratio |", "|---|---:|---:|---:|"]
    out.append(f"| patches | {d['patches_hit']} | {d['patches_total']} | {percent(d['patch_ratio'])} |")
    out.append(f"| modules | {d['modules_hit']} | {d['modules_total']} | {percent(d['module_ratio'])} |")
    out += ["", f"Damaged probe lines: {d['lines_damaged']}. Originals run under a router: {len(d['originals_hit'])}."]
    out += ["", "A module is hit when any fused branch in it ran (the original under a router included)."]

    out += ["", "## Per rank", ""]
    if d["ranks"]:
        out += ["| rank | patches hit | originals run |", "|---|---:|---:|"]
        out += [f"| {rank_name(r['rank'])} | {r['patches_hit']} | {r['originals_hit']} |" for r in d["ranks"]]
    else:
        out.append("No probe line found.")

    out += ["", "## Per target", "", "| target | module | patches hit | not hit | original ran on |"]
    out.append("|---|---|---:|---|---|")
    for target in targets_view(d):
        missed = ", ".join(f"#{row['id'].rpartition('#')[2]}" for row in target["patches"] if not row["hit"])
        hit = sum(row["hit"] for row in target["patches"])
        original = ranks_text(target["original"]) if target["original"] is not None else ""
        out.append(
            f"| `{target['target']}` | `{target['module']}` | {hit}/{len(target['patches'])} | {missed} | {original} |"
        )

    not_hit = [row for row in d["patches"] if not row["hit"]]
    out += ["", f"## Not hit ({len(not_hit)})", ""]
    out += [f"- `{row['id']}`: `{row['patch_import']}`" for row in not_hit] or ["Every patch was hit."]
    if not_hit:
        out += ["", f"In the input format, to feed back in: `{not_hit_file}`."]
    if d["ids_not_in_json"]:
        out += ["", "## Probe ids not in the patch JSON", ""] + [f"- `{pid}`" for pid in d["ids_not_in_json"]]

    out += ["", "## Logs", "", "| log | format | probes | damaged |", "|---|---|---:|---:|"]
    out += [f"| `{cell(log['path'])}` | {log['format']} | {log['probes']} | {log['damaged']} |" for log in d["logs"]]
    examples = [(log["path"], e) for log in d["logs"] for e in log["damaged_examples"]]
    if examples:
        out += ["", "Damaged lines (first of each log):", ""]
        out += [f"- `{cell(path)}:{e['line']}`: `{cell(e['excerpt'])}`" for path, e in examples]
    return "\n".join(out) + "\n"


def cell(text: str) -> str:
    """Keep text inside its Markdown table cell and code span."""
    return " ".join(text.split()).replace("|", "\\|").replace("`", "'")
