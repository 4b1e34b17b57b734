"""`patchmerge merge` and `undo` on bad input (SPEC 3.8): a clear message, no traceback, the tree unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from patchmerge import bundled
from patchmerge.cli import main
from patchmerge.fusion.registrations import find_registrations
from tests.conftest import fail_os_replace

CALLS = ("MegatronAdaptation.register",)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "root"
    shutil.copytree(bundled.example_root(), target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def merge(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["merge", *argv, "--profile", "example"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("patches", "message"),
    [
        ('{"megatron.core.x": [', "malformed JSON"),
        (
            {
                "megatron.core.parallel_state.destroy_model_parallel": [
                    {"patch_import": "a.b", "condition": ["import os"]}
                ]
            },
            "megatron.core.parallel_state.destroy_model_parallel#0: condition 0 'import os' is a statement",
        ),
        (
            {"megatron.core.parallel_state.destroy_model_parallel": [{"patch_import": "a.b", "conditon": []}]},
            "unknown key 'conditon'",
        ),
    ],
)
def test_bad_patch_file_exit_2_and_tree_unchanged(capsys, root, tmp_path, patches, message):
    path = tmp_path / "bad.json"
    path.write_text(patches if isinstance(patches, str) else json.dumps(patches))
    before = snapshot(root)
    code, _, err = merge(capsys, str(root), str(path))
    assert code == 2 and message in err and "Traceback" not in err
    assert snapshot(root) == before


def test_unknown_target_is_reported_and_the_rest_fused(capsys, root, tmp_path):
    patches = json.loads((root / "patches.json").read_text())
    patches["megatron.core.no_such_module.f"] = [{"patch_import": "mindspeed.core.parallel_state.helper"}]
    path = tmp_path / "patches.json"
    path.write_text(json.dumps(patches))
    code, out, _ = merge(capsys, str(root), str(path))
    assert code == 1
    assert "megatron.core.no_such_module.f#0" in out and "target does not resolve" in out
    report = json.loads((root / ".patchmerge/report/report.json").read_text())
    assert report["patches_fused"] == 39 and report["patches_failed"] == 1
    unresolved = json.loads((root / ".patchmerge/report/unresolved.json").read_text())
    assert list(unresolved) == ["megatron.core.no_such_module.f"]


def test_syntax_error_in_a_target_file_is_named(capsys, root):
    broken = root / "Megatron-LM/megatron/core/fusions/fused_softmax.py"
    broken.write_text(broken.read_text() + "\ndef oops(:\n")
    before = snapshot(root)
    code, out, _ = merge(capsys, str(root))
    assert code == 1 and "fused_softmax.py" in out
    report = json.loads((root / ".patchmerge/report/report.json").read_text())
    failed = [p for p in report["patches"] if p["outcome"] == "failed"]
    assert failed and all("fused_softmax" in p["target"] for p in failed)
    assert snapshot(root)[str(broken.relative_to(root))] == before[str(broken.relative_to(root))]


def test_non_utf8_registration_file_aborts_without_writing(capsys, root):
    adaptor = root / "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py"
    adaptor.write_bytes(adaptor.read_bytes() + b"\n# \xff\xfe\n")
    before = snapshot(root)
    code, _, err = merge(capsys, str(root))
    assert code == 2 and "megatron_adaptor.py" in err and "Traceback" not in err
    assert snapshot(root) == before


def test_interrupt_while_writing_leaves_the_tree_as_it_was(capsys, root, monkeypatch):
    before = snapshot(root)
    fail_os_replace(monkeypatch, 6, KeyboardInterrupt())
    code, _, err = merge(capsys, str(root))
    monkeypatch.undo()
    assert code == 2 and "interrupted" in err
    after = {k: v for k, v in snapshot(root).items() if not k.startswith(".patchmerge")}
    assert after == before


def test_missing_root_and_nothing_to_undo(capsys, tmp_path, root):
    code, _, err = merge(capsys, str(tmp_path / "nope"))
    assert code == 2 and "does not exist" in err
    assert main(["undo", str(root)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_patch_applied_by_plain_assignment_is_left_to_the_adaptor_with_its_place(capsys, root, tmp_path):
    adaptor = root / "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py"
    adaptor.write_text(
        adaptor.read_text()
        + "\n\ndef assign_patches():\n"
        + "    from megatron.core.parallel_state import destroy_model_parallel as direct\n"
        + "    from megatron.core.fusions.fused_softmax import FusedScaleMaskSoftmax\n"
        + "    FusedScaleMaskSoftmax.direct = direct\n"
    )
    patches = json.loads((root / "patches.json").read_text())
    target = "megatron.core.fusions.fused_softmax.FusedScaleMaskSoftmax.direct"
    patches[target] = [{"patch_import": "megatron.core.parallel_state.destroy_model_parallel"}]
    path = tmp_path / "patches.json"
    path.write_text(json.dumps(patches))
    assert merge(capsys, str(root), str(path))[0] == 1
    report = json.loads((root / ".patchmerge/report/report.json").read_text())
    (entry,) = [p for p in report["patches"] if p["target"] == target]
    assert (
        entry["outcome"] == "failed"
        and "plain assignment at MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py:" in (entry["reason"])
    )


def test_wrapper_registered_twice_is_disabled_everywhere_with_a_warning(capsys, root):
    adaptor = root / "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py"
    adaptor.write_text(
        adaptor.read_text()
        + "\n\ndef second_collection():\n"
        + "    from mindspeed.core.parallel_state import initialize_model_parallel_wrapper\n"
        + "    MegatronAdaptation.register('megatron.core.parallel_state.initialize_model_parallel',\n"
        + "                                initialize_model_parallel_wrapper)\n"
    )
    assert merge(capsys, str(root))[0] == 0
    report = json.loads((root / ".patchmerge/report/report.json").read_text())
    (warning,) = report["warnings"]
    assert "initialize_model_parallel_wrapper" in warning and warning.count("megatron_adaptor.py:") == 2
    active = find_registrations(adaptor.read_text(), adaptor, "mindspeed_llm.tasks.megatron_adaptor", CALLS)
    assert not [r for r in active if r.target == "megatron.core.parallel_state.initialize_model_parallel"]


def test_new_patch_on_an_already_fused_target_fails_asking_to_undo_first(capsys, root, tmp_path):
    assert merge(capsys, str(root))[0] == 0
    target = "megatron.core.parallel_state.initialize_model_parallel"
    wrappers = root / "MindSpeed/mindspeed/core/parallel_state.py"
    wrappers.write_text(wrappers.read_text() + "\n\ndef extra_wrapper(fn):\n    return fn\n")
    adaptor = root / "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py"
    adaptor.write_text(
        adaptor.read_text()
        + "\n\ndef more_patches():\n"
        + "    from mindspeed.core.parallel_state import extra_wrapper\n"
        + f"    MegatronAdaptation.register({target!r}, extra_wrapper)\n"
    )
    patches = json.loads((root / "patches.json").read_text())
    key = next(k for k in patches if k.strip("'") == target)
    old = len(patches[key])
    patches[key].append({"patch_import": "mindspeed.core.parallel_state.extra_wrapper"})
    path = tmp_path / "patches.json"
    path.write_text(json.dumps(patches))
    before = {k: v for k, v in snapshot(root).items() if not k.startswith(".patchmerge")}
    code, out, err = merge(capsys, str(root), str(path))
    assert code == 1 and "Traceback" not in out + err
    report = json.loads((root / ".patchmerge/report/report.json").read_text())
    by_id = {p["id"]: p for p in report["patches"]}
    new = by_id[f"{target}#{old}"]
    assert new["outcome"] == "failed" and "patchmerge undo" in new["reason"]
    assert all(by_id[f"{target}#{i}"]["outcome"] == "already-fused" for i in range(old))
    others = [p for p in report["patches"] if p["target"] != target]
    assert others and all(p["outcome"] == "already-fused" for p in others)
    assert {k: v for k, v in snapshot(root).items() if not k.startswith(".patchmerge")} == before


def test_a_condition_reading_more_than_args_is_bad_input_and_writes_nothing(capsys, root, tmp_path):
    target = "megatron.core.parallel_state.destroy_model_parallel"
    condition = "__import__('os').system('touch pwned')"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({target: [{"patch_import": "a.b", "condition": ["args.x", condition]}]}))
    before = snapshot(root)
    code, out, err = merge(capsys, str(root), str(path))
    assert code == 2 and out == ""
    assert err == (
        f"patchmerge: error: {path}: patch {target}#0: condition 1 \"{condition}\" reads __import__, which is not "
        "args, a condition_import name or an allowed builtin (profile: conditions.allowed_names)\n"
    )
    assert snapshot(root) == before and not (root / ".patchmerge").exists()
