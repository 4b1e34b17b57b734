"""Probes: each fused branch announces itself once per process on stderr; --no-probes builds a tree with none."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from patchmerge import bundled
from patchmerge.cli import main

PREFIX = "[patchmerge-probe] "
POST_INIT = "megatron.core.transformer.transformer_config.TransformerConfig.__post_init__"


def merged_copy(base: Path, *flags: str) -> Path:
    root = base / "root"
    shutil.copytree(bundled.example_root(), root, ignore=shutil.ignore_patterns("__pycache__"))
    assert main(["merge", str(root), "--profile", "example", *flags]) == 0
    return root


def run(root: Path, *flags: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MINI_NO_PATCHES="1", RANK="5")
    env["PYTHONPATH"] = os.pathsep.join(str(root / r) for r in ("Megatron-LM", "MindSpeed", "MindSpeed-LLM"))
    done = subprocess.run(
        [sys.executable, "pretrain_mini.py", *flags],
        cwd=root / "MindSpeed-LLM",
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def probes(stderr: str) -> list[dict]:
    return [json.loads(line[len(PREFIX) :]) for line in stderr.splitlines() if line.startswith(PREFIX)]


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    return merged_copy(tmp_path_factory.mktemp("probes")), merged_copy(tmp_path_factory.mktemp("bare"), "--no-probes")


def test_each_branch_announces_once_with_its_patch_and_rank(trees):
    with_probes, _ = trees
    hits = probes(run(with_probes, "--tp-2d").stderr)
    ids = [hit["id"] for hit in hits]
    assert len(ids) == len(set(ids)) > 10
    assert f"{POST_INIT}#0" in ids and f"{POST_INIT}#original" not in ids  # the tp_2d route replaced it
    (route,) = [hit for hit in hits if hit["id"] == f"{POST_INIT}#0"]
    assert route["condition"] == "args.tp_2d" and route["rank"] == "5"
    assert route["module"] == "megatron.core.transformer.transformer_config"
    assert route["patch_import"] == "mindspeed.core.transformer.transformer_config.transformer_config_post_init"
    without_route = [hit["id"] for hit in probes(run(with_probes).stderr)]
    assert f"{POST_INIT}#original" in without_route and f"{POST_INIT}#0" not in without_route


def test_no_probes_tree_is_silent_and_runs_the_same(trees):
    with_probes, bare = trees
    assert "PROBE_PREFIX = None" in (bare / "Megatron-LM/megatron/_patchmerge.py").read_text()
    assert "announce" not in (bare / "Megatron-LM/megatron/core/transformer/transformer_config.py").read_text()
    quiet, loud = run(bare, "--mode", "a"), run(with_probes, "--mode", "a")
    assert probes(quiet.stderr) == [] and quiet.stdout == loud.stdout


DECLARED = re.compile(r"^(_patchmerge_pending_(?:chosen_)?[0-9a-f]{10}) = _patchmerge\.probe_flag\(", re.MULTILINE)


def merged_first_step(tmp_path: Path) -> Path:
    """The example tree with only its transformer_config targets merged."""
    root = tmp_path / "root"
    shutil.copytree(bundled.example_root(), root, ignore=shutil.ignore_patterns("__pycache__"))
    patches = json.loads((root / "patches.json").read_text())
    first = {t: patches[t] for t in sorted(patches) if "transformer_config" in t}
    assert first and len(first) < len(patches)
    (tmp_path / "first.json").write_text(json.dumps(first))
    assert main(["merge", str(root), str(tmp_path / "first.json"), "--profile", "example"]) in (0, 1)
    return root


def declared_flags(root: Path) -> dict[str, list[str]]:
    texts = {str(m.relative_to(root)): m.read_text() for m in sorted((root / "Megatron-LM").rglob("*.py"))}
    return {module: DECLARED.findall(text) for module, text in texts.items() if DECLARED.search(text)}


def test_a_tree_merged_in_two_steps_keeps_the_probes_of_both(tmp_path):
    """Each fused module declares the flags its probes test; a later merge keeps the declarations of the files
    the earlier one fused (once each) and their probes still fire."""
    root = merged_first_step(tmp_path)
    first = declared_flags(root)
    assert first and all(len(flags) == len(set(flags)) for flags in first.values())
    assert main(["merge", str(root), "--profile", "example"]) in (0, 1)
    both = declared_flags(root)
    assert all(set(flags) <= set(both[module]) for module, flags in first.items())
    assert all(len(flags) == len(set(flags)) for flags in both.values()) and len(both) > len(first)
    hits = probes(run(root, "--tp-2d").stderr)
    assert f"{POST_INIT}#0" in [hit["id"] for hit in hits]


def test_a_module_fused_by_an_earlier_version_keeps_the_helper_flags_it_tests(tmp_path):
    """Trees fused before the flags were module globals test `_patchmerge.pending_...`: a later merge rewrites
    the helper and must keep those flags in it, or those definitions would fail when they run."""
    root = merged_first_step(tmp_path)
    config = root / "Megatron-LM/megatron/core/transformer/transformer_config.py"
    text = DECLARED.sub(lambda m: f"_unused{m[1]} = _patchmerge.probe_flag(", config.read_text())
    config.write_text(re.sub(r"\b_patchmerge_(pending_)", r"_patchmerge.\1", text))
    old_style = set(re.findall(r"_patchmerge\.(pending_(?:chosen_)?[0-9a-f]{10})\b", config.read_text()))
    assert old_style
    assert main(["merge", str(root), "--profile", "example"]) in (0, 1)
    helper = (root / "Megatron-LM/megatron/_patchmerge.py").read_text()
    assert all(f"'{flag}'" in helper for flag in old_style)
    hits = probes(run(root, "--tp-2d").stderr)
    assert f"{POST_INIT}#0" in [hit["id"] for hit in hits]
