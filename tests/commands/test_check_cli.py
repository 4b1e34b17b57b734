"""`patchmerge check` as a user runs it: exit status, JSON document, the bundled example."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from patchmerge import bundled
from patchmerge.cli import main
from patchmerge.writable import tree_cache_dir
from tests.check.model_trees import write_model_tree
from tests.interrupts import default_ctrl_c
from tests.read_only import example_copy, read_only_mount, simulate_read_only, tree_digest

BROKEN_EXAMPLE = bundled.example_root() / "patches-broken.json"
JSON_FIELDS = {"verdict", "reason", "log", "script_exit", "seconds", "workspace", "coverage"}


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code, document, _ = run_json_err(argv, capsys)
    return code, document


def run_json_err(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, str]:
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_the_bundled_example_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(["check"], capsys)
    assert code == 0 and document["verdict"] == "pass" and JSON_FIELDS <= set(document)
    assert document["script_exit"] == 0 and Path(document["log"]).is_file()
    assert document["coverage"]["patches_total"] == 39 and document["coverage"]["patches_hit"] > 0


def test_the_example_with_a_wrong_patch_json_fails(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(["check", str(BROKEN_EXAMPLE)], capsys)
    assert code == 1 and document["verdict"] == "fail" and "not found" in document["reason"]


def test_text_output_names_verdict_log_and_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = write_model_tree(tmp_path / "root", ops=4)
    code = main(["check", str(tmp_path / "root"), "--profile", str(profile), "--workspace", str(tmp_path / "ws")])
    out = capsys.readouterr().out
    assert code == 0
    assert "check: PASS" in out and "log:" in out and "script exit:  0" in out and str(tmp_path / "ws") in out


def test_a_merge_failure_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = write_model_tree(tmp_path / "root", ops=4)
    with open(tmp_path / "root/Megatron-LM/megatron/core/ops.py", "a") as ops:
        ops.write("_patchmerge = 1\n")
    code, document = run_json(["check", str(tmp_path / "root"), "--profile", str(profile)], capsys)
    assert code == 3 and document["verdict"] == "fail" and document["merge_failed"]


def test_flags_override_the_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = write_model_tree(tmp_path / "root", ops=4)
    argv = ["check", str(tmp_path / "root"), "--profile", str(profile), "--pattern", "loss: 7"]
    code, document = run_json(argv, capsys)
    assert code == 1 and "'loss: 7'" in document["reason"]
    code, document = run_json([*argv[:-1], r"loss: \d", "--regex"], capsys)
    assert code == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model-shell", "nowhere.sh"], "model shell not found"),
        (["--pattern", ""], "no pattern"),
        (["--pattern", "(", "--regex"], "regular expression"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    profile = write_model_tree(tmp_path / "root", ops=4)
    code = main(["check", str(tmp_path / "root"), "--profile", str(profile), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "root/.patchmerge/check").exists(), "nothing is built for a bad input"


def test_a_missing_root_dir_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ctrl_c_stops_the_script_and_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    profile = write_model_tree(tmp_path / "root", ops=4, shell_body=f"sleep 60 &\necho $! > {marker}\nwait\n")
    command = [sys.executable, "-m", "patchmerge", "check", str(tmp_path / "root"), "--profile", str(profile)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_ctrl_c
    )
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text().strip():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2 and "interrupted" in err and "Traceback" not in err
    child = Path(f"/proc/{int(marker.read_text())}/stat")
    assert not child.exists() or child.read_text().split()[2] == "Z"


def test_a_read_only_root_dir_gets_its_workspace_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = example_copy(tmp_path)
    before = tree_digest(root)
    simulate_read_only(monkeypatch, root, tmp_path / "cache")
    code, document, err = run_json_err(["check", str(root), "--profile", "example"], capsys)
    expected = tree_cache_dir(root) / "check" / "run-1"
    assert code == 0 and document["verdict"] == "pass"
    assert expected.parent.parent.parent == tmp_path / "cache" / "patchmerge"
    assert document["workspace"] == str(expected) and Path(document["merge_report"]).is_relative_to(expected)
    assert f"ROOT_DIR is read-only: workspace in {expected}\n" in err
    assert tree_digest(root) == before


def test_a_given_workspace_wins_over_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = write_model_tree(tmp_path / "root", ops=4)
    simulate_read_only(monkeypatch, tmp_path / "root", tmp_path / "cache")
    argv = ["check", str(tmp_path / "root"), "--profile", str(profile), "--workspace", str(tmp_path / "ws")]
    code, document, err = run_json_err(argv, capsys)
    assert code == 0 and document["workspace"] == str(tmp_path / "ws")
    assert "read-only" not in err and not tree_cache_dir(tmp_path / "root").exists()


def test_a_really_read_only_root_dir_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = example_copy(tmp_path / "source")
    before = tree_digest(source)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with read_only_mount(source.parent, tmp_path / "mounted") as mounted:
        code, document, err = run_json_err(["check", str(mounted / "root"), "--profile", "example"], capsys)
        expected = tree_cache_dir(mounted / "root") / "check" / "run-1"
    assert code == 0 and document["verdict"] == "pass" and document["workspace"] == str(expected)
    assert f"ROOT_DIR is read-only: workspace in {expected}\n" in err
    assert tree_digest(source) == before


def test_a_read_only_root_dir_collects_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = example_copy(tmp_path)
    profile = tmp_path / "no-patch-json.toml"
    text = (bundled.configs_dir() / "example.toml").read_text(encoding="utf-8")
    profile.write_text(text.replace('patch_json = "patches.json"\n', ""), encoding="utf-8")
    before = tree_digest(root)
    simulate_read_only(monkeypatch, root, tmp_path / "cache")
    code, document, err = run_json_err(["check", str(root), "--profile", str(profile)], capsys)
    collected = tree_cache_dir(root) / "collected.json"
    assert code == 0 and document["verdict"] == "pass"
    assert f"ROOT_DIR is read-only: collected patch JSON in {collected}\n" in err and collected.is_file()
    assert tree_digest(root) == before
