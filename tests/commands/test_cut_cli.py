"""`patchmerge cut`: --count, each selector and their combination, output formats, bad input (exit 2)."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import pytest

from patchmerge.cli import main
from patchmerge.host import make_plugin_manager
from patchmerge.loading import load_patch_file
from patchmerge.profile import load_profile
from tests.conftest import REAL_PATCH_JSON, needs_real_patch_json

SMALL = {
    "'megatron.training.a'": [
        {"patch_import": "ms.a", "patch_name": "a", "condition": []},
        {"patch_import": "ms.a_wrapper", "patch_name": "a_wrapper", "condition": []},
    ],
    "'megatron.core.b'": [
        {"patch_import": "ms.b", "patch_name": "b", "condition": ["args.x"]},
        {"patch_import": "ms.b_decorator", "patch_name": "b_decorator", "condition": []},
    ],
    "'megatron.training.c'": [{"patch_import": "ms.c1", "patch_name": "c1", "condition": []}],
}


def cut(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["cut", *(str(a) for a in argv)])
    out, err = capsys.readouterr()
    return code, out, err


def load(path: Path) -> list:
    profile = load_profile("example")
    return load_patch_file(path, make_plugin_manager(profile), profile).patches


def same(patches: list) -> list:
    """Patches without their index (a cut renumbers each target's list)."""
    return [replace(p, index=0) for p in patches]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.json"
    path.write_text(json.dumps(SMALL), encoding="utf-8")
    return path


def test_count_small(capsys, small):
    code, out, _ = cut(capsys, small, "--count")
    assert code == 0
    assert out.splitlines() == ["targets 3, patches 5", "  replace 2", "  route 1", "  wrap 2"]


def test_range_keeps_order_and_drops_empty_targets(capsys, small, tmp_path):
    out_file = tmp_path / "out.json"
    code, out, _ = cut(capsys, small, "--left", 1, "--right", 3, "-o", out_file)
    assert code == 0
    assert out.strip() == f"kept 2 of 5 patches on 2 targets -> {out_file}"
    data = json.loads(out_file.read_text())
    assert list(data) == ["'megatron.training.a'", "'megatron.core.b'"]
    assert [r["patch_name"] for rs in data.values() for r in rs] == ["a_wrapper", "b"]


def test_prefix_and_kind_to_stdout(capsys, small):
    code, out, _ = cut(capsys, small, "--target-prefix", "megatron.training")
    assert code == 0 and list(json.loads(out)) == ["'megatron.training.a'", "'megatron.training.c'"]
    code, out, _ = cut(capsys, small, "--kind", "route")
    assert [r["patch_name"] for rs in json.loads(out).values() for r in rs] == ["b"]
    code, out, _ = cut(capsys, small, "--kind", "replace")
    assert [r["patch_name"] for rs in json.loads(out).values() for r in rs] == ["a", "c1"]


def test_selectors_combine_range_then_prefix_then_kind(capsys, small):
    argv = ["--left", 0, "--right", 4, "--target-prefix", "megatron.training", "--kind", "wrap"]
    code, out, _ = cut(capsys, small, *argv)
    assert code == 0
    assert [r["patch_name"] for rs in json.loads(out).values() for r in rs] == ["a_wrapper"]


def test_empty_selection_is_valid(capsys, small):
    code, out, _ = cut(capsys, small, "--target-prefix", "nowhere")
    assert code == 0 and json.loads(out) == {}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.json", "--count"], "not found"),
        (["SMALL", "--left", 3, "--right", 1], "greater than"),
        (["SMALL", "--left", -1, "--right", 1], "negative"),
        (["SMALL"], "needs --count or a selector"),
        (["BAD", "--count"], "malformed JSON"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, small, tmp_path, argv, message):
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    argv = [{"SMALL": small, "BAD": bad}.get(a, a) if isinstance(a, str) else a for a in argv]
    code, out, err = cut(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_kind_is_an_argparse_error(capsys, small):
    with pytest.raises(SystemExit) as exc:
        main(["cut", str(small), "--kind", "nope"])
    assert exc.value.code == 2


@needs_real_patch_json
def test_real_count(capsys):
    code, out, _ = cut(capsys, REAL_PATCH_JSON, "--count")
    assert code == 0 and out.splitlines()[0] == "targets 196, patches 241"


@needs_real_patch_json
def test_real_full_range_round_trips(capsys, tmp_path):
    out_file = tmp_path / "all.json"
    code, _, _ = cut(capsys, REAL_PATCH_JSON, "--left", 0, "--right", 241, "-o", out_file)
    assert code == 0
    assert load(out_file) == load(REAL_PATCH_JSON)


@needs_real_patch_json
def test_real_range_keeps_ten_in_order(capsys, tmp_path):
    out_file = tmp_path / "ten.json"
    code, out, _ = cut(capsys, REAL_PATCH_JSON, "--left", 10, "--right", 20, "-o", out_file)
    assert code == 0 and out.startswith("kept 10 of 241 patches")
    assert same(load(out_file)) == same(load(REAL_PATCH_JSON)[10:20])


@needs_real_patch_json
def test_real_target_prefix(capsys, tmp_path):
    out_file = tmp_path / "training.json"
    code, _, _ = cut(capsys, REAL_PATCH_JSON, "--target-prefix", "megatron.training", "-o", out_file)
    kept = load(out_file)
    expected = [p for p in load(REAL_PATCH_JSON) if p.target.startswith("megatron.training")]
    assert code == 0 and kept and same(kept) == same(expected)


@needs_real_patch_json
def test_real_kind_wrap(capsys, tmp_path):
    out_file = tmp_path / "wrap.json"
    code, _, _ = cut(capsys, REAL_PATCH_JSON, "--kind", "wrap", "-o", out_file)
    kept = load(out_file)
    assert code == 0 and kept
    assert all(p.patch_name.endswith(("wrapper", "decorator")) for p in kept)
    assert len(kept) == sum(p.patch_name.endswith(("wrapper", "decorator")) for p in load(REAL_PATCH_JSON))


@pytest.mark.skipif(importlib.util.find_spec("patchmerge_toml_patches") is None, reason="toml-patches not installed")
def test_toml_input_is_written_back_as_toml(capsys, tmp_path):
    source = tmp_path / "in.toml"
    source.write_text(
        '[[patch]]\ntarget = "megatron.training.a"\npatch_import = "ms.a"\npatch_name = "a"\n\n'
        '[[patch]]\ntarget = "megatron.core.b"\npatch_import = "ms.b_wrapper"\npatch_name = "b_wrapper"\n',
        encoding="utf-8",
    )
    out_file = tmp_path / "out.toml"
    code, _, _ = cut(capsys, source, "--kind", "wrap", "-o", out_file)
    assert code == 0 and out_file.read_text().startswith("[[patch]]")
    assert [p.patch_name for p in load(out_file)] == ["b_wrapper"]
    code, out, _ = cut(capsys, source, "--left", 0, "--right", 1)
    assert code == 0 and out.startswith("[[patch]]") and "megatron.core.b" not in out
