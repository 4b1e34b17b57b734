"""`patchmerge coverage`: reports written, --json, folder and glob arguments, plugins, bad input (exit 2)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from patchmerge.cli import main
from patchmerge.coverage import scan as scan_module
from tests.coverage.conftest import PATCHES, probe, write_log

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    (tmp_path / "patches.json").write_text(json.dumps(PATCHES))
    logs = tmp_path / "msrun_log"
    write_log(logs / "worker_0.log", "noise", probe("megatron.core.x.f#0"), probe("megatron.core.x.f#2"))
    write_log(logs / "worker_1.log", probe("megatron.core.x.g#0"), probe("megatron.core.x.f#2")[:40])
    return tmp_path


def coverage(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["coverage", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_folder_argument_writes_the_reports_and_exits_0(capsys, setup):
    out_dir = setup / "report"
    code, out, err = coverage(
        capsys, "--json-file", str(setup / "patches.json"), "--log-file", str(setup / "msrun_log"),
        "--output-dir", str(out_dir),
    )  # fmt: skip
    assert code == 0 and err == ""
    assert "patches hit: 3/5 (60.0%)" in out and "modules hit: 1/2 (50.0%)" in out
    assert "damaged probe lines 1" in out and "coverage.html" in out
    document = json.loads((out_dir / "coverage.json").read_text())
    assert [log["path"].rpartition("/")[2] for log in document["logs"]] == ["worker_0.log", "worker_1.log"]
    assert {r["rank"]: r["patches_hit"] for r in document["ranks"]} == {"0": 2, "1": 1}
    assert len(json.loads((out_dir / "not_hit.json").read_text())) == 2  # two targets hold the 2 not hit


def test_json_prints_coverage_json_and_default_output_dir(capsys, setup, monkeypatch):
    monkeypatch.chdir(setup)
    code, out, _ = coverage(capsys, "--json-file", "patches.json", "--log-file", "msrun_log/worker_*.log", "--json")
    assert code == 0
    assert json.loads(out) == json.loads((setup / "coverage-report" / "coverage.json").read_text())
    assert json.loads(out)["patches_hit"] == 3


def test_several_log_arguments_and_globs(capsys, setup):
    logs = setup / "msrun_log"
    code, out, _ = coverage(
        capsys, "--json-file", str(setup / "patches.json"), "--output-dir", str(setup / "r"), "--json",
        "--log-file", str(logs / "worker_0.log"), str(logs / "worker_[01].log"),
    )  # fmt: skip
    assert code == 0 and json.loads(out)["logs"][1]["path"].endswith("worker_1.log")
    assert len(json.loads(out)["logs"]) == 2  # the file named twice is read once


def test_profile_gives_the_probe_prefix_and_log_plugins(capsys, setup):
    plugin = setup / "my_logs.py"
    plugin.write_text(
        "from patchmerge.coverage import ProbeHit\n"
        "from patchmerge.hookspecs import hookimpl\n\n"
        "@hookimpl\n"
        "def open_log(path, prefix):\n"
        "    if path.suffix != '.csv':\n"
        "        return None\n"
        "    rows = [line.split(',') for line in path.read_text().splitlines()]\n"
        "    return [ProbeHit(id=pid, target=pid.split('#')[0], rank=rank) for pid, rank in rows]\n"
    )
    profile = setup / "p.toml"
    profile.write_text(
        'name = "p"\nplugins = ["my_logs.py"]\n[sources]\nroots = ["A"]\nrewritable = ["a"]\n'
        '[probes]\nprefix = "@@probe@@"\n'
    )
    write_log(setup / "other" / "run.log", probe("megatron.core.x.g#0", rank=5, prefix="@@probe@@"))
    write_log(setup / "other" / "hits.csv", "megatron.core.layers.Linear.forward#0,7")
    code, out, _ = coverage(
        capsys, "--json-file", str(setup / "patches.json"), "--profile", str(profile), "--json",
        "--output-dir", str(setup / "r"), "--log-file", str(setup / "other"), str(setup / "other" / "hits.csv"),
    )  # fmt: skip
    document = json.loads(out)
    assert code == 0 and document["patches_hit"] == 2
    assert [(log["format"], log["probes"]) for log in document["logs"]] == [("plain", 1), ("list", 1)]
    assert {row["id"]: row["ranks"] for row in document["patches"] if row["hit"]} == {
        "megatron.core.x.g#0": ["5"],
        "megatron.core.layers.Linear.forward#0": ["7"],
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--json-file", "missing.json", "--log-file", "msrun_log"], "missing.json: patch file not found"),
        (["--json-file", "bad.json", "--log-file", "msrun_log"], "malformed JSON"),
        (["--json-file", "patches.json", "--log-file", "nothing/*.log"], "no log file matches nothing/*.log"),
        (["--json-file", "patches.json", "--log-file", "msrun_log", "gone.log"], "log file not found: gone.log"),
        (["--json-file", "patches.json", "--log-file", "empty"], "no *.log file in folder empty"),
        (["--json-file", "patches.json", "--log-file", "msrun_log", "--output-dir", "patches.json"], "cannot write"),
        (["--json-file", "patches.json", "--log-file", "msrun_log", "--profile", "nope"], "no profile named 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, setup, monkeypatch, args, message):
    monkeypatch.chdir(setup)
    (setup / "bad.json").write_text('{"x": [')
    (setup / "empty").mkdir()
    code, out, err = coverage(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("patchmerge: error: ") and message in err and err.count("\n") == 1, err


def test_unreadable_log_is_bad_input(capsys, setup, monkeypatch):
    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(scan_module, "open", refuse, raising=False)
    code, _, err = coverage(
        capsys, "--json-file", str(setup / "patches.json"), "--log-file", str(setup / "msrun_log"),
        "--output-dir", str(setup / "r"),
    )  # fmt: skip
    assert code == 2 and "worker_0.log: cannot read log file: Permission denied" in err and "Traceback" not in err
    assert not (setup / "r").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_log_file_mode(capsys, setup):
    log = setup / "msrun_log" / "worker_0.log"
    log.chmod(0)
    try:
        code, _, err = coverage(capsys, "--json-file", str(setup / "patches.json"), "--log-file", str(log))
    finally:
        log.chmod(0o644)
    assert code == 2 and "Permission denied" in err


def test_both_flags_are_required(capsys, setup):
    with pytest.raises(SystemExit) as exc:
        main(["coverage", "--log-file", str(setup / "msrun_log")])
    assert exc.value.code == 2 and "--json-file" in capsys.readouterr().err


def test_nox_session_and_make_target_pass_the_arguments(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("no make")
    assert "def coverage(session" in (REPO / "noxfile.py").read_text()
    dry = subprocess.run(
        ["make", "-n", "-C", str(REPO), "coverage", "JSON_FILE=p.json", "LOG_FILE=a.log b", "OUTPUT_DIR=o"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "-s coverage -- --json-file p.json --log-file a.log b" in dry.stdout and "--output-dir o" in dry.stdout


def test_probes_of_a_merged_example_run_on_two_ranks(capsys, tmp_path):
    """End to end: the probe lines a fused tree writes are what coverage reads."""
    from patchmerge import bundled

    root = tmp_path / "root"
    shutil.copytree(bundled.example_root(), root, ignore=shutil.ignore_patterns("__pycache__", ".patchmerge"))
    assert main(["merge", str(root), "--profile", "example"]) == 0
    capsys.readouterr()
    shell = root / "MindSpeed-LLM" / "examples" / "mini" / "pretrain_mini.sh"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RANK", "LOCAL_RANK")}
    env["PYTHON"] = sys.executable
    logs = tmp_path / "msrun_log"
    logs.mkdir()
    for rank, flags in ((0, ["--mode", "a", "--use-fast-norm"]), (1, ["--tp-2d", "--mode", "b"])):
        run = subprocess.run(["bash", str(shell), *flags], env=env, capture_output=True, text=True, check=True)
        # as msrun does: each worker's own file, lines tagged, no RANK in the worker's environment
        (logs / f"worker_{rank}.log").write_text("".join(f"[rank{rank}]: {line}\n" for line in run.stderr.splitlines()))
    code, out, _ = coverage(
        capsys, "--json-file", str(root / "patches.json"), "--log-file", str(logs), "--json",
        "--output-dir", str(tmp_path / "report"),
    )  # fmt: skip
    document = json.loads(out)
    assert code == 0 and document["lines_damaged"] == 0 and document["ids_not_in_json"] == []
    assert 0 < document["patches_hit"] < document["patches_total"] == 39
    assert [r["rank"] for r in document["ranks"]] == ["0", "1"]
    hits = [row["ranks"] for row in document["patches"] if row["hit"]]
    assert all(hits)  # every hit is placed on a rank (from the file name: the payloads have none)
    assert ["0"] in hits and ["1"] in hits and ["0", "1"] in hits  # the two runs took different branches
