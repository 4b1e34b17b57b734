import json
from pathlib import Path

import pytest

from patchmerge.formats import patch_set_from_mapping
from patchmerge.fusion.model import FileEdit, MergeResult, Outcome, PatchOutcome
from patchmerge.fusion.report import exit_status, summary_text, write_reports
from patchmerge.host import make_plugin_manager
from patchmerge.loading import load_patch_file
from patchmerge.model import FusionKind, Patch, PatchSet
from patchmerge.profile import load_profile

RAW = [
    (
        "'m.core.a.f'",
        [
            {"patch_import": "ms.a.f", "patch_name": "f", "condition": []},
            {
                "patch_import": "ms.a.f_wrapper",
                "patch_name": "f_wrapper",
                "condition": ["args.x"],
                "condition_import": ["ms.util.is_on"],
                "force_patch": True,
            },
        ],
    ),
    ("'m.core.b.G'", [{"patch_import": "ms.b.G", "patch_name": "G", "condition": ["args.y > 1"]}]),
    ("'m.core.c.h'", [{"patch_import": "ms.c.h", "patch_name": "h", "condition": [], "phase": 2}]),
    (
        "'m.core.d.k'",
        [
            {"patch_import": "ms.d.missing", "patch_name": "missing", "condition": []},
            {"patch_import": "ms.d.k2", "patch_name": "k2", "condition": []},
        ],
    ),
    ("'m.core.e.z'", [{"patch_import": "ms.e.z", "patch_name": "z", "condition": []}]),
]


@pytest.fixture
def patch_set() -> PatchSet:
    return patch_set_from_mapping(RAW, source=Path("patches.json"), format="json")


@pytest.fixture
def pm():
    return make_plugin_manager(None, load_entry_points=False)


def by_id(patch_set: PatchSet) -> dict[str, Patch]:
    return {p.id: p for p in patch_set.patches}


def make_result(patch_set: PatchSet, root: Path) -> MergeResult:
    p = by_id(patch_set)
    outcomes = [
        # deliberately not in file order: the report puts them back in it
        PatchOutcome(p["m.core.d.k#1"], None, Outcome.FAILED, "target does not resolve: no 'k' in m/core/d.py"),
        PatchOutcome(p["m.core.a.f#0"], FusionKind.ROUTE, Outcome.FUSED, notes=["subclass m.core.a.F2 keeps f"]),
        PatchOutcome(p["m.core.a.f#1"], FusionKind.WRAP, Outcome.FUSED),
        PatchOutcome(p["m.core.b.G#0"], FusionKind.CLASS_ROUTE, Outcome.ALREADY_FUSED),
        PatchOutcome(p["m.core.c.h#0"], FusionKind.REPLACE, Outcome.SKIPPED, "superseded | by a later patch"),
        PatchOutcome(
            p["m.core.d.k#0"],
            FusionKind.REPLACE,
            Outcome.FAILED,
            "patch_import does not resolve: no 'missing' in ms/d.py",
        ),
        PatchOutcome(p["m.core.e.z#0"], FusionKind.NEW, Outcome.FAILED, "fused file does not compile: line 3"),
    ]
    edits = [
        FileEdit(Path("Megatron-LM/m/core/a.py"), b"old\n", b"new\n"),
        FileEdit(Path("Megatron-LM/m/core/same.py"), b"same\n", b"same\n"),
        FileEdit(Path("Megatron-LM/m/core/created.py"), None, b"x = 1\n"),
    ]
    return MergeResult(root=root, outcomes=outcomes, edits=edits, warnings=["fixup reset_patch applied"])


def reload(path: Path) -> list[Patch]:
    profile = load_profile("example")
    pm = make_plugin_manager(None, load_entry_points=False)
    return load_patch_file(path, pm, profile).patches


def strip_index(patches: list[Patch]) -> list[tuple]:
    """A patch fed back in gets a new index (its place in the new file); everything else must match."""
    return [
        (p.target, p.patch_import, p.patch_name, p.condition, p.condition_import, p.force_patch, p.phase)
        for p in patches
    ]


def test_report_json_fields(tmp_path: Path, patch_set: PatchSet, pm) -> None:
    result = make_result(patch_set, tmp_path / "root")
    write_reports(tmp_path / "report", result, patch_set, pm, plan_seconds=1.23456, merge_seconds=None)
    doc = json.loads((tmp_path / "report" / "report.json").read_text())
    assert set(doc) == {
        "patches_total",
        "patches_fused",
        "patches_already_fused",
        "patches_skipped",
        "patches_failed",
        "by_kind",
        "by_strategy",
        "patches",
        "files_written",
        "targets_total",
        "warnings",
        "timings",
    }
    assert (doc["patches_total"], doc["patches_fused"], doc["patches_already_fused"]) == (7, 2, 1)
    assert (doc["patches_skipped"], doc["patches_failed"]) == (1, 3)
    assert doc["targets_total"] == 5
    assert doc["by_kind"] == {"replace": 0, "route": 1, "class-route": 1, "wrap": 1, "new": 0}
    assert [p["id"] for p in doc["patches"]] == [
        "m.core.a.f#0",
        "m.core.a.f#1",
        "m.core.b.G#0",
        "m.core.c.h#0",
        "m.core.d.k#0",
        "m.core.d.k#1",
        "m.core.e.z#0",
    ]
    first = doc["patches"][0]
    assert first == {
        "id": "m.core.a.f#0",
        "target": "m.core.a.f",
        "patch_import": "ms.a.f",
        "kind": "route",
        "outcome": "fused",
        "reason": None,
        "notes": ["subclass m.core.a.F2 keeps f"],
        "strategy": None,
        "strategy_reason": None,
    }
    assert doc["patches"][2]["outcome"] == "already-fused"
    assert doc["patches"][5]["kind"] is None
    assert doc["files_written"] == ["Megatron-LM/m/core/a.py", "Megatron-LM/m/core/created.py"]
    assert doc["warnings"] == ["fixup reset_patch applied"]
    assert doc["timings"] == {"plan_seconds": 1.235, "merge_seconds": None}


def test_unresolved_and_unfused_reload_to_the_expected_patches(tmp_path: Path, patch_set: PatchSet, pm) -> None:
    write_reports(tmp_path / "report", make_result(patch_set, tmp_path), patch_set, pm)
    p = by_id(patch_set)
    unresolved = reload(tmp_path / "report" / "unresolved.json")
    unfused = reload(tmp_path / "report" / "unfused.json")
    assert strip_index(unresolved) == strip_index([p["m.core.d.k#0"], p["m.core.d.k#1"]])
    assert strip_index(unfused) == strip_index([p["m.core.c.h#0"], p["m.core.e.z#0"]])
    # same key spelling as the input, so the files diff cleanly against it
    assert list(json.loads((tmp_path / "report" / "unresolved.json").read_text())) == ["'m.core.d.k'"]


def test_all_fused_writes_empty_leftover_files(tmp_path: Path, patch_set: PatchSet, pm) -> None:
    outcomes = [PatchOutcome(p, FusionKind.REPLACE, Outcome.FUSED) for p in patch_set.patches]
    result = MergeResult(root=tmp_path, outcomes=outcomes, edits=[])
    write_reports(tmp_path / "r", result, patch_set, pm)
    for name in ("unresolved.json", "unfused.json"):
        assert json.loads((tmp_path / "r" / name).read_text()) == {}
        assert reload(tmp_path / "r" / name) == []
    assert exit_status(result) == 0
    summary = (tmp_path / "r" / "summary.md").read_text()
    assert "Every patch is fused." in summary
    assert "| replace | 7 |" in summary


def test_summary_markdown(tmp_path: Path, patch_set: PatchSet, pm) -> None:
    write_reports(tmp_path / "report", make_result(patch_set, tmp_path), patch_set, pm, merge_seconds=2.5)
    text = (tmp_path / "report" / "summary.md").read_text()
    assert text.startswith("# patchmerge merge report\n")
    for line in (
        "| patches | 7 |",
        "| fused | 2 |",
        "| already fused | 1 |",
        "| skipped | 1 |",
        "| failed | 3 |",
        "| targets | 5 |",
        "| route | 1 |",
        "| class-route | 1 |",
        "| wrap | 1 |",
        "## Not fused (4)",
        "- `Megatron-LM/m/core/a.py`",
        "- `Megatron-LM/m/core/created.py`",
        "- fixup reset_patch applied",
        "- `m.core.a.f#0`: subclass m.core.a.F2 keeps f",
        "Timings: merge 2.50 s",
    ):
        assert line in text, line
    assert "| replace |" not in text  # kinds with no patch are left out of the table
    assert "| `m.core.e.z#0` | failed | fused file does not compile: line 3 |" in text
    assert "| `m.core.c.h#0` | skipped | superseded \\| by a later patch |" in text  # pipe escaped
    assert "same.py" not in text  # an edit that changes nothing is not a written file
    # failed ones come before skipped ones
    assert text.index("m.core.d.k#0` | failed") < text.index("m.core.c.h#0` | skipped")


def test_summary_text_and_exit_status(tmp_path: Path, patch_set: PatchSet) -> None:
    result = make_result(patch_set, tmp_path)
    text = summary_text(result)
    lines = text.splitlines()
    assert lines[0] == "7 patches in 5 targets: 2 fused, 1 already fused, 1 skipped, 3 failed"
    assert lines[1] == "by kind: route 1, class-route 1, wrap 1"
    assert "  failed m.core.d.k#1: target does not resolve: no 'k' in m/core/d.py" in lines
    assert "  skipped m.core.c.h#0: superseded | by a later patch" in lines
    assert lines[-1] == "warning: fixup reset_patch applied"
    assert exit_status(result) == 1


def test_summary_text_lists_first_twenty(tmp_path: Path) -> None:
    raw = [(f"m.t.f{i}", [{"patch_import": f"ms.t.f{i}"}]) for i in range(25)]
    patch_set = patch_set_from_mapping(raw, source=None, format="json")
    outcomes = [PatchOutcome(p, None, Outcome.FAILED, "target does not resolve: gone") for p in patch_set.patches]
    lines = summary_text(MergeResult(root=tmp_path, outcomes=outcomes, edits=[])).splitlines()
    assert lines[0] == "25 patches in 25 targets: 0 fused, 0 already fused, 0 skipped, 25 failed"
    assert sum(line.startswith("  failed ") for line in lines) == 20
    assert lines[-1] == "  ... and 5 more"


def test_singular_counts(tmp_path: Path, patch_set: PatchSet) -> None:
    patch = patch_set.patches[0]
    result = MergeResult(root=tmp_path, outcomes=[PatchOutcome(patch, FusionKind.WRAP, Outcome.FUSED)], edits=[])
    assert summary_text(result).splitlines()[0].startswith("1 patch in 1 target: 1 fused")
    assert exit_status(result) == 0
    assert exit_status(MergeResult(root=tmp_path, outcomes=[], edits=[])) == 0
