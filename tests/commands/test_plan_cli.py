"""`patchmerge plan` as a user runs it: exit codes, messages, JSON fields."""

import json
import os
import subprocess
import sys

import pytest

from patchmerge import bundled
from patchmerge.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_json_fields_and_exit_0(capsys, mini_root, write_json):
    path = write_json(
        {
            "'megatron.core.layers.forward'": [
                {"patch_import": "mindspeed.layers.forward", "condition": ["args.fast"]},
                {"patch_import": "mindspeed.layers.forward_wrapper", "condition": []},
            ]
        }
    )
    code, out, err = run(capsys, "plan", str(mini_root), str(path), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["patches_total"] == 2 and doc["patches_resolved"] == 2 and doc["targets_total"] == 1
    assert doc["unresolved"] == []
    first, second = doc["patches"]
    assert first["id"] == "megatron.core.layers.forward#0"
    assert first["kind"] == "route" and second["kind"] == "wrap"
    assert first["target_file"] == "Megatron-LM/megatron/core/layers.py"
    assert first["patch_file"] == "MindSpeed/mindspeed/layers.py"
    assert set(first) >= {"id", "target", "patch_import", "kind", "target_file", "patch_file", "notes"}


def test_plan_exit_1_lists_unresolved_with_reasons(capsys, mini_root, write_json):
    path = write_json(
        {
            "megatron.core.layers.forward": [{"patch_import": "mindspeed.layers.no_such_function"}],
            "megatron.core.nope.f": [{"patch_import": "mindspeed.layers.forward"}],
            "megatron.core.layers.Linear.forward": [
                {"patch_import": "mindspeed.layers.forward", "condition": ["is_enabled(args)"]}
            ],
        }
    )
    code, out, _ = run(capsys, "plan", str(mini_root), str(path), "--json")
    assert code == 1
    doc = json.loads(out)
    reasons = {u["id"]: u["reason"] for u in doc["unresolved"]}
    assert set(reasons) == {
        "megatron.core.layers.forward#0",
        "megatron.core.nope.f#0",
        "megatron.core.layers.Linear.forward#0",
    }
    assert "no_such_function" in reasons["megatron.core.layers.forward#0"]
    assert "target does not resolve" in reasons["megatron.core.nope.f#0"]
    assert "is_enabled" in reasons["megatron.core.layers.Linear.forward#0"]


def test_plan_text_output(capsys, mini_root, write_json):
    path = write_json({"megatron.core.layers.Linear.forward": [{"patch_import": "mindspeed.layers.forward"}]})
    code, out, _ = run(capsys, "plan", str(mini_root), str(path))
    assert code == 0
    assert "replace" in out and "Megatron-LM/megatron/core/layers.py" in out
    assert "1 patch on 1 target: 1 resolved, 0 unresolved" in out


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('{"a.b": [', "malformed JSON"),
        ({"a.b.c": [{"patch_import": "x.y", "condition": ["import os"]}]}, "a.b.c#0: condition 0 'import os'"),
    ],
)
def test_bad_patch_file_exit_2_without_traceback(capsys, mini_root, write_json, data, message):
    code, out, err = run(capsys, "plan", str(mini_root), str(write_json(data)))
    assert code == 2
    assert message in err and "Traceback" not in err and out == ""


def test_missing_root_dir_and_not_a_root_dir(capsys, tmp_path, write_json):
    path = write_json({})
    code, _, err = run(capsys, "plan", str(tmp_path / "missing"), str(path))
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "plan", str(tmp_path), str(path))
    assert code == 2 and "is not a ROOT_DIR" in err and "Megatron-LM/" in err


def test_unknown_profile_key_exit_2(capsys, mini_root, write_json, tmp_path):
    profile = tmp_path / "bad.toml"
    profile.write_text('name = "x"\nbogus = 1\n[sources]\nroots = ["Megatron-LM"]\nrewritable = ["megatron"]\n')
    code, _, err = run(capsys, "plan", str(mini_root), str(write_json({})), "--profile", str(profile))
    assert code == 2 and "unknown key 'bogus'" in err and str(profile) in err


def test_missing_patch_json_names_the_profile_key(capsys, mini_root):
    code, _, err = run(capsys, "plan", str(mini_root))
    assert code == 2 and "'patch_json'" in err


def test_python_dash_m_entry_point(mini_root, write_json):
    path = write_json({"megatron.core.layers.forward": [{"patch_import": "mindspeed.layers.forward"}]})
    result = subprocess.run(
        [sys.executable, "-m", "patchmerge", "plan", str(mini_root), str(path), "--json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["patches_resolved"] == 1


def test_closed_stdout_pipe_exits_quietly(mini_root, write_json):
    path = write_json({"megatron.core.layers.forward": [{"patch_import": "mindspeed.layers.forward"}]})
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written, as with `| head -1` on long output
    try:
        result = subprocess.run(
            [sys.executable, "-m", "patchmerge", "plan", str(mini_root), str(path)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 141


def test_unexpected_exception_is_one_line_and_exit_2(capsys, monkeypatch, mini_root, write_json):
    import patchmerge.commands.plan as plan_command

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(plan_command, "run", broken)
    path = str(write_json({}))
    code, out, err = run(capsys, "plan", str(mini_root), path)
    assert code == 2 and out == ""
    assert err.splitlines() == ["patchmerge: internal error: RuntimeError: a bug (run with -v for the traceback)"]
    code, _, err = run(capsys, "-v", "plan", str(mini_root), path)
    assert code == 2
    assert err.startswith("patchmerge: internal error: RuntimeError: a bug\n") and "Traceback" in err


def test_profile_that_is_a_folder_exit_2(capsys, mini_root, write_json, tmp_path):
    code, _, err = run(capsys, "plan", str(mini_root), str(write_json({})), "--profile", str(tmp_path))
    assert code == 2 and "is a folder" in err and "Traceback" not in err


def test_a_profile_widens_the_builtins_a_condition_may_read(capsys, mini_root, write_json, tmp_path):
    path = write_json({"megatron.core.layers.forward": [
        {"patch_import": "mindspeed.layers.forward", "condition": ["sum(args.sizes) > 8"]}
    ]})
    code, _, err = run(capsys, "plan", str(mini_root), str(path), "--profile", "example")
    assert code == 2 and "reads sum, which is not args" in err
    profile = tmp_path / "wider.toml"
    text = (bundled.configs_dir() / "example.toml").read_text(encoding="utf-8")
    profile.write_text(text + '\n[conditions]\nallowed_names = ["sum"]\n', encoding="utf-8")
    code, out, err = run(capsys, "plan", str(mini_root), str(path), "--profile", str(profile))
    assert code == 0 and "1 resolved, 0 unresolved" in out, err
