"""The [slurm] table checked like every profile key, the workdir check, and reading Slurm's answers (no Slurm
needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchmerge.check.model import ModelRun
from patchmerge.cli import main
from patchmerge.errors import PatchmergeError, ProfileError
from patchmerge.host import make_plugin_manager
from patchmerge.profile import load_profile
from tests.plugins.slurm.profiles import example

plugin = pytest.importorskip("patchmerge_slurm", reason="plugin not installed: pip install ./plugins/patchmerge-slurm")
from patchmerge_slurm.settings import SlurmSettings, check_workdir, node_local, settings_of  # noqa: E402
from patchmerge_slurm.slurm import JobState, _from_sacct  # noqa: E402


def profile_with(tmp_path: Path, table: str) -> Path:
    _, profile = example(tmp_path)
    text = profile.read_text().split("[slurm]")[0] + table
    profile.write_text(text)
    return profile


def load(tmp_path: Path, table: str):
    profile = load_profile(profile_with(tmp_path, table))
    make_plugin_manager(profile)  # where a plugin's table is checked, before any work
    return settings_of(profile)


def test_a_full_table_is_read(tmp_path: Path) -> None:
    table = (
        '[slurm]\npartition = "npu"\naccount = "ai"\nnodes = 2\nntasks = 16\ntime = "2:00:00"\n'
        'sbatch_args = ["--gres=npu:8"]\nworkdir = "/shared/pm"\npoll_seconds = 5\nretries = 0\n'
    )
    settings = load(tmp_path, table)
    assert settings == SlurmSettings(partition="npu", account="ai", nodes=2, ntasks=16, time="2:00:00",
                                     sbatch_args=("--gres=npu:8",), workdir="/shared/pm", poll_seconds=5.0,
                                     retries=0)  # fmt: skip
    assert settings.time_limit(3600) == "2:00:00" and SlurmSettings().time_limit(3601) == "61"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[slurm]\npartiton = "npu"\n', r"unknown key 'slurm\.partiton' \(did you mean 'partition'\?\)"),
        ("[slurm]\nnodes = \"2\"\n", r"'slurm\.nodes' must be int, got a string"),
        ("[slurm]\nsbatch_args = \"--exclusive\"\n", r"'slurm\.sbatch_args' must be a list of strings"),
        ("[slurm]\nnodes = 0\n", r"'slurm\.nodes' must be at least 1, got 0"),
        ('[slurm]\ntime = "soon"\n', r"'slurm\.time' must be a Slurm time limit"),
        ('[slurm]\njob_name = "two words"\n', r"'slurm\.job_name' must be one word"),
        ('[slurm]\nnodes = 2\nworkdir = "/tmp/pm"\n', r"'slurm\.workdir' /tmp/pm is under /tmp, which the other 1"),
        ('[slurn]\nnodes = 2\n', r"unknown key 'slurn' \(did you mean 'slurm'\?\)"),
    ],
)
def test_mistakes_name_the_key_and_the_file(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message) as info:
        load(tmp_path, table)
    assert str(tmp_path) in str(info.value)


def test_cli_says_it_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = profile_with(tmp_path, "[slurm]\nnodes = 0\n")
    assert main(["check", str(tmp_path / "example"), "--profile", str(profile)]) == 2
    err = capsys.readouterr().err
    assert "'slurm.nodes' must be at least 1" in err and "Traceback" not in err
    fixed = ["check", str(tmp_path / "example"), "--profile", str(profile), "--set", "slurm.nodes=x"]
    assert main(fixed) == 2 and "'slurm.nodes' must be int, got a string" in capsys.readouterr().err


def test_no_table_leaves_runs_local(tmp_path: Path) -> None:
    profile = load_profile("example")
    run = ModelRun(command=("true",), cwd=tmp_path, env={}, log=tmp_path / "log", timeout=1, profile=profile)
    assert settings_of(profile) is None and plugin.run_model(run) is None


def test_workspace_outside_workdir_or_node_local_for_many_nodes(tmp_path: Path) -> None:
    with pytest.raises(PatchmergeError, match=r"is not under slurm\.workdir /shared/pm"):
        check_workdir(SlurmSettings(workdir="/shared/pm"), tmp_path)
    with pytest.raises(PatchmergeError, match=r"under /tmp, which the other nodes of a 2-node job cannot see"):
        check_workdir(SlurmSettings(nodes=2), Path("/tmp/pm/step-001"))
    check_workdir(SlurmSettings(), Path("/tmp/pm/step-001"))  # one node: may be this machine
    assert node_local(Path("/dev/shm/x")) == "under /dev/shm" and node_local(Path("/")) is None


def test_states_read_from_sacct_lines() -> None:
    text = "12|CANCELLED by 0|0:15|node1|2024-01-01T10:00:00|2024-01-01T10:00:05\n"
    assert _from_sacct(text, "12", "sacct") == JobState("12", "CANCELLED", "0:15", "node1", "2024-01-01T10:00:00",
                                                         "2024-01-01T10:00:05", "sacct")  # fmt: skip
    assert _from_sacct(text, "13", "sacct") is None
    assert JobState("1", "FAILED", "3:0").exit_status == 3 and JobState("1", "FAILED", "0:9").exit_status == 137
    assert JobState("1", "RUNNING").finished is False and JobState("1", "NODE_FAIL").finished is True
