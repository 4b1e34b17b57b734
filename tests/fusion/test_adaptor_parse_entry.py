"""runtime.adaptor_args_entry: the profile key is checked, an entry that names no function stops the merge with
a message naming the key and changes nothing, and a walk that may miss a call narrows nothing and says so."""

from __future__ import annotations

import json

import pytest

from patchmerge.cli import main
from patchmerge.errors import ProfileError
from patchmerge.profile import profile_from_dict
from tests.differential.harness import ARGUMENTS, build
from tests.differential.test_in_source_parse_entry import _scenario
from tests.trees import profile_text

BASE = {"name": "p", "sources": {"roots": ["L"], "rewritable": ["l"]}}


@pytest.mark.parametrize(
    ("runtime", "words"),
    [
        ({"adaptor_args_files": ["L/a.py"], "adaptor_args_entry": "L/a.py"}, "must be 'REL/FILE.py::Qual.name'"),
        ({"adaptor_args_files": ["L/a.py"], "adaptor_args_entry": "L/a.py::get-args"}, "must be"),
        ({"adaptor_args_entry": "L/a.py::get_args"}, "needs 'runtime.adaptor_args_files'"),
    ],
)
def test_a_bad_entry_is_a_profile_error_naming_the_key(runtime, words):
    with pytest.raises(ProfileError, match="runtime.adaptor_args_entry") as caught:
        profile_from_dict({**BASE, "runtime": runtime})
    assert words in str(caught.value)


def _merge_with_entry(tmp_path, entry: str, change: tuple[str, str] | None = None):
    pristine, _ = build(tmp_path / "first", _scenario())
    root = tmp_path / "root"
    root.mkdir()
    for path in pristine.rglob("*"):
        if path.is_file():
            (root / path.relative_to(pristine)).parent.mkdir(parents=True, exist_ok=True)
            (root / path.relative_to(pristine)).write_bytes(path.read_bytes())
    if change is not None:
        (root / ARGUMENTS).write_text((root / ARGUMENTS).read_text().replace(*change))
    profile = tmp_path / "profile.toml"
    profile.write_text(profile_text("p", ["MindSpeed-LLM/mindspeed_llm/adaptor.py"], adaptor_args_files=[ARGUMENTS],
                                    adaptor_unknown_args=True, adaptor_args_entry=entry))
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    code = main(["merge", str(root), "--profile", str(profile)])
    return root, code, before


def test_an_entry_naming_no_function_stops_the_merge_and_changes_nothing(tmp_path, capsys):
    root, code, before = _merge_with_entry(tmp_path, f"{ARGUMENTS}::build_parser")
    assert code != 0
    err = capsys.readouterr().err
    assert "runtime.adaptor_args_entry" in err and "build_parser" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_a_walk_that_may_miss_a_call_narrows_nothing_and_says_so(tmp_path):
    unfollowed = ("    for feature in FEATURES:\n", "    import plugins\n    for feature in plugins.discover():\n")
    root, code, _ = _merge_with_entry(tmp_path, f"{ARGUMENTS}::process_args", unfollowed)
    assert code == 0
    report = json.loads((root / ".patchmerge/report/report.json").read_text())
    assert any("may miss a call" in warning and "did not follow" in warning for warning in report["warnings"])
    reasons = {p["id"]: p["strategy_reason"] or "" for p in report["patches"]}
    assert "defined differently in several places" in reasons["megatron.core.ops.scale#0"]  # nothing left out
