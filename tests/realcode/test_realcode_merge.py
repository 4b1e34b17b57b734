"""`patchmerge plan` and `merge` on real code: the published Megatron core 0.8.0 sources, with our own mini
MindSpeed / MindSpeed-LLM registering 49 patches of every kind over real targets. Static checks only: nothing
here imports Megatron, MindSpeed or torch."""

from __future__ import annotations

import ast
import json
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from patchmerge.cli import main
from patchmerge.fusion.already import fused_pairs
from patchmerge.fusion.registrations import find_registrations
from patchmerge.fusion.stanza import BLOCK_START
from patchmerge.fusion.validate import undefined_names
from tests.realcode.adaptor_src import ADAPTOR_PATH, PATCHES, UNLISTED

CALLS = ("MegatronAdaptation.register",)
ADAPTOR_MODULE = "mindspeed_llm.tasks.megatron_adaptor"
ALL_PAIRS = {(target, patch_import) for target, patch_import, _, _ in PATCHES}
# a class replaced whose members are patched too stays a runtime patch with its members: the runtime patches
# each member on the class bound when its Patch applies, which no fused tree can say
_CLASSES_WITH_MEMBERS = {
    t for t, patch, _, _ in PATCHES
    if patch.rpartition(".")[2][:1].isupper() and any(o.startswith(t + ".") for o, _, _, _ in PATCHES)
}
RUNTIME_PAIRS = {
    (t, p) for t, p, _, _ in PATCHES if any(t == c or t.startswith(c + ".") for c in _CLASSES_WITH_MEMBERS)
}
FUSED_PAIRS = ALL_PAIRS - RUNTIME_PAIRS
FUSED_COUNT = sum(1 for t, p, _, _ in PATCHES if (t, p) not in RUNTIME_PAIRS)  # a pair may be listed twice
TENORM = ("megatron.core.transformer.transformer_block.TENorm", "mindspeed_llm.core.PTNorm")
# Megatron's own sources have an invalid escape in a docstring: compiling them warns, which is not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")


UNDER_ANALYSIS = ("megatron", "mindspeed", "mindspeed_llm", "torch")


def copy_root(pristine: Path, where: Path) -> Path:
    root = where / "root"
    shutil.copytree(pristine, root)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".patchmerge" not in p.parts and "__pycache__" not in p.parts
    }


def registrations(root: Path):
    return find_registrations((root / ADAPTOR_PATH).read_text(), Path(ADAPTOR_PATH), ADAPTOR_MODULE, CALLS)


def unlisted_calls(text: str) -> list[str]:
    """Source text of the adaptor's calls that register a patch the JSON does not list."""
    targets = {target for target, _ in UNLISTED}
    return [
        ast.get_source_segment(text, node)
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
        and node.args[0].value in targets
    ]


def merge(root: Path, profile: Path, *flags: str) -> int:
    return main(["merge", str(root), str(root / "patches.json"), "--profile", str(profile), *flags])


def read_report(root: Path) -> dict:
    return json.loads((root / ".patchmerge" / "report" / "report.json").read_text())


def not_fused(report: dict, outcome: str = "fused") -> list[str]:
    return [f"{p['id']}: {p['outcome']}: {p['reason']}" for p in report["patches"] if p["outcome"] != outcome]


@pytest.fixture(scope="module")
def merged(pristine_root: Path, profile: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A copy of the tree after one merge, with that merge's report (later merges overwrite the file)."""
    root = copy_root(pristine_root, tmp_path_factory.mktemp("merged"))
    loaded_before = {name for name in sys.modules if name.split(".")[0] in UNDER_ANALYSIS}
    code = merge(root, profile)
    report = read_report(root)
    left = [p for p in report["patches"] if p["outcome"] != "fused"]
    assert all("stay runtime patches" in (p["reason"] or "") for p in left), "\n  ".join(not_fused(report))
    assert code == (1 if left else 0)
    loaded_after = {name for name in sys.modules if name.split(".")[0] in UNDER_ANALYSIS}
    assert loaded_after == loaded_before, f"the merge imported code under analysis: {loaded_after - loaded_before}"
    return root, report


def test_adaptor_registers_exactly_the_patch_json(pristine_root):
    found = Counter((r.target, r.patch_import) for r in registrations(pristine_root))
    expected = Counter((target, patch_import) for target, patch_import, _, _ in PATCHES) + Counter(UNLISTED)
    assert found == expected
    assert len(PATCHES) >= 30


def test_every_target_module_comes_from_the_wheel(pristine_root):
    for target, _, _, _ in PATCHES:
        if target.startswith("megatron.core."):
            parts = target.split(".")
            candidates = [Path("Megatron-LM", *parts[:end]) for end in range(2, len(parts))]
            assert any((pristine_root / c).with_suffix(".py").is_file() or (pristine_root / c / "__init__.py").is_file()
                       for c in candidates), target


def test_plan_resolves_every_patch(pristine_root, profile, capsys):
    code = main(["plan", str(pristine_root), str(pristine_root / "patches.json"), "--profile", str(profile), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert document["unresolved"] == []
    assert code == 0
    assert document["patches_total"] == document["patches_resolved"] == len(PATCHES)
    assert {p["kind"] for p in document["patches"]} == {"replace", "route", "class-route", "wrap", "new"}


def test_merge_fuses_every_patch(merged):
    root, report = merged
    assert report["patches_total"] == len(PATCHES)
    assert report["patches_fused"] == FUSED_COUNT, "not fused:\n  " + "\n  ".join(not_fused(report))
    assert report["patches_failed"] == len(PATCHES) - FUSED_COUNT > 0 and report["patches_skipped"] == 0
    left = {(p["target"], p["patch_import"]) for p in report["patches"] if p["outcome"] != "fused"}
    assert left == RUNTIME_PAIRS
    assert sum(report["by_kind"].values()) == FUSED_COUNT  # by_kind counts the fused patches
    assert (root / "Megatron-LM" / "megatron" / "_patchmerge.py").is_file()
    assert not (root / "Megatron-LM" / "megatron" / "__init__.py").exists(), "megatron stays a namespace package"


def test_every_patch_is_recorded_in_a_fused_stanza(merged):
    root, report = merged
    recorded = set()
    for relative in report["files_written"]:
        recorded |= fused_pairs((root / relative).read_text())
    assert recorded == FUSED_PAIRS


def test_written_files_compile_and_read_no_new_undefined_names(merged, pristine_root):
    root, report = merged
    assert report["files_written"]
    for relative in report["files_written"]:
        after = (root / relative).read_text()
        compile(after, relative, "exec", dont_inherit=True)
        before_path = pristine_root / relative
        before = undefined_names(before_path.read_text(), relative) if before_path.exists() else Counter()
        new = undefined_names(after, relative)
        assert not [name for name in new if new[name] > before.get(name, 0)], f"{relative}: {new - before}"


def test_fused_code_reads_no_args_at_import_time(merged):
    """Module-level statements of a fused block only define and install: args are read in settle functions."""
    root, report = merged
    for relative in report["files_written"]:
        text = (root / relative).read_text()
        if BLOCK_START not in text:
            continue
        start = text[: text.index(BLOCK_START)].count("\n") + 1
        for statement in ast.parse(text).body:
            if statement.lineno < start or isinstance(statement, ast.FunctionDef | ast.Import | ast.ImportFrom):
                continue
            for node in ast.walk(statement):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    assert node.func.attr not in ("args", "get_args"), f"{relative}:{node.lineno}"
    helper = (root / "Megatron-LM" / "megatron" / "_patchmerge.py").read_text()
    assert "ARGS_ACCESSOR = 'megatron.training.get_args'" in helper


def test_registrations_of_fused_patches_are_disabled_and_others_untouched(merged, pristine_root):
    root, _ = merged
    adaptor = (root / ADAPTOR_PATH).read_text()
    compile(adaptor, ADAPTOR_PATH, "exec", dont_inherit=True)
    after = registrations(root)
    assert not [r for r in after if (r.target, r.patch_import) in FUSED_PAIRS]
    kept = [(r.target, r.patch_import, r.local_name, r.force_patch) for r in after]
    before = [(r.target, r.patch_import, r.local_name, r.force_patch) for r in registrations(pristine_root)
              if (r.target, r.patch_import) not in FUSED_PAIRS]
    assert kept == before and {(t, p) for t, p, _, _ in kept} == UNLISTED | RUNTIME_PAIRS
    pristine = (pristine_root / ADAPTOR_PATH).read_text()
    assert unlisted_calls(adaptor) == unlisted_calls(pristine) != []
    assert adaptor.count("# patchmerge: fused: ") >= len(FUSED_PAIRS)


def test_second_merge_reports_already_fused_and_changes_no_byte(merged, profile):
    root, _ = merged
    before = snapshot(root)
    code = merge(root, profile)
    report = read_report(root)
    assert code == 1  # the class groups left to the runtime are reported again, and nothing changes
    assert report["patches_already_fused"] == FUSED_COUNT, "\n".join(not_fused(report, "already-fused"))
    assert snapshot(root) == before


def test_undo_restores_byte_for_byte(pristine_root, profile, tmp_path):
    root = copy_root(pristine_root, tmp_path)
    pristine = snapshot(root)
    assert merge(root, profile) == 1  # every patch fused but the class groups left to the runtime
    assert snapshot(root) != pristine
    assert main(["undo", str(root)]) == 0
    assert snapshot(root) == pristine


def test_dry_run_writes_nothing(pristine_root, profile, tmp_path, capsys):
    root = copy_root(pristine_root, tmp_path)
    pristine = snapshot(root)
    assert merge(root, profile, "--dry-run") == 1
    out = capsys.readouterr().out
    assert "+++ b/Megatron-LM/megatron/core/transformer/transformer_config.py" in out
    assert "+++ b/" + ADAPTOR_PATH in out
    assert snapshot(root) == pristine
    assert not (root / ".patchmerge").exists()
    shutil.rmtree(root)


def test_tenorm_is_fused_where_it_runs_without_transformer_engine(merged):
    root, report = merged
    holder = [rel for rel in report["files_written"] if TENORM in fused_pairs((root / rel).read_text())]
    assert "Megatron-LM/megatron/core/transformer/transformer_block.py" in holder, holder
