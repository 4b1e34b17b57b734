"""What coverage writes: coverage.json, coverage.md, a self-contained coverage.html, not_hit.json to feed back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from patchmerge.coverage.compute import coverage_document, read_logs
from patchmerge.coverage.report import write_reports
from patchmerge.host import make_plugin_manager
from patchmerge.loading import load_patch_file
from patchmerge.profile import Profile, Sources
from tests.coverage.conftest import PREFIX, probe, write_log

PROFILE = Profile(name="t", sources=Sources(roots=(), rewritable=()))

TOML = """
[[patch]]
target = "megatron.core.x.f"
patch_import = "mindspeed.x.f_fast"
condition = ["args.fast"]

[[patch]]
target = "megatron.core.x.f"
patch_import = "mindspeed.x.f_wrapper"

[[patch]]
target = "megatron.core.y.g"
patch_import = "mindspeed.y.g"
force_patch = true
"""


def report(tmp_path: Path, patch_file: Path, *lines: str) -> tuple[Path, dict]:
    pm = make_plugin_manager(PROFILE)
    patch_set = load_patch_file(patch_file, pm, PROFILE)
    document = coverage_document(patch_set, read_logs([write_log(tmp_path / "w.log", *lines)], pm, PREFIX))
    out = tmp_path / "report"
    write_reports(out, document, patch_set, pm)
    return out, document


def signature(patches) -> list[tuple]:
    return [(p.target, p.patch_import, p.condition, p.force_patch) for p in patches]


def test_all_four_files_and_json_is_the_document(tmp_path, patch_json):
    out, document = report(tmp_path, patch_json, probe("megatron.core.x.f#0", rank=0))
    assert sorted(p.name for p in out.iterdir()) == ["coverage.html", "coverage.json", "coverage.md", "not_hit.json"]
    assert json.loads((out / "coverage.json").read_text()) == document
    assert list(document)[:9] == [
        "patches_total",
        "patches_hit",
        "patch_ratio",
        "modules_total",
        "modules_hit",
        "module_ratio",
        "lines_damaged",
        "patches",
        "originals_hit",
    ]


def test_not_hit_reloads_to_exactly_the_patches_not_hit(tmp_path, patch_json):
    out, document = report(tmp_path, patch_json, probe("megatron.core.x.f#0"), probe("megatron.core.x.f#2"))
    pm = make_plugin_manager(PROFILE)
    original = load_patch_file(patch_json, pm, PROFILE)
    not_hit = {row["id"] for row in document["patches"] if not row["hit"]}
    again = load_patch_file(out / "not_hit.json", pm, PROFILE)
    # ids are positions in their file, so compare what the patches are
    assert signature(again.patches) == signature(p for p in original.patches if p.id in not_hit)
    assert len(again) == 3


def test_not_hit_keeps_the_input_format(tmp_path):
    pytest.importorskip("patchmerge_toml_patches")
    path = tmp_path / "patches.toml"
    path.write_text(TOML)
    out, _ = report(tmp_path, path, probe("megatron.core.x.f#1", rank=0))
    pm = make_plugin_manager(PROFILE)
    assert not (out / "not_hit.json").exists()  # TOML in a .json file could not be fed back in
    again = load_patch_file(out / "not_hit.toml", pm, PROFILE)
    assert again.format == "toml"
    assert signature(again.patches) == [
        ("megatron.core.x.f", "mindspeed.x.f_fast", ("args.fast",), False),
        ("megatron.core.y.g", "mindspeed.y.g", (), True),
    ]


def test_every_patch_hit_leaves_an_empty_not_hit_file(tmp_path, patch_json):
    pm = make_plugin_manager(PROFILE)
    ids = [p.id for p in load_patch_file(patch_json, pm, PROFILE).patches]
    out, document = report(tmp_path, patch_json, *(probe(pid, rank=0) for pid in ids))
    assert document["patch_ratio"] == 1.0
    assert json.loads((out / "not_hit.json").read_text()) == {}


def test_html_is_self_contained_with_a_row_per_branch_and_filters(tmp_path, patch_json):
    out, _ = report(
        tmp_path,
        patch_json,
        probe("megatron.core.x.f#0", rank=3),
        probe("megatron.core.layers.Linear.forward#original", rank=1),
        probe("megatron.core.x.g#0<script>", rank=0),  # names from logs are escaped
    )
    html = (out / "coverage.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html) and "<link" not in html
    assert "@import" not in html and "<style>" in html and html.count("<script>") == 1
    rows = re.findall(r'<tr class="([^"]+)" data-text="([^"]*)">', html)
    assert [cls for cls, _ in rows] == ["hit", "miss", "miss", "miss", "miss", "hit orig"]
    assert "megatron.core.x.f #0 mindspeed.x.f_fast megatron.core.x 3 hit" in rows[0][1]
    assert 'id="filter"' in html and 'value="hit"' in html and 'value="miss"' in html
    assert "<td>original</td>" in html and "megatron.core.x.g#0&lt;script&gt;" in html
    assert "<th>rank</th>" in html


def test_markdown_has_totals_and_per_target_tables(tmp_path, patch_json):
    out, _ = report(tmp_path, patch_json, probe("megatron.core.x.f#0", rank=3), f"{PREFIX} {{cut")
    md = (out / "coverage.md").read_text()
    assert "| patches | 1 | 5 | 20.0% |" in md and "| modules | 1 | 2 | 50.0% |" in md
    assert "| `megatron.core.x.f` | `megatron.core.x` | 1/3 | #1, #2 |  |" in md
    assert "- `megatron.core.x.g#0`: `mindspeed.x.g`" in md
    assert "Damaged probe lines: 1." in md and "w.log:2" in md
