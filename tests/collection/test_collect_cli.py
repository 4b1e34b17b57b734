"""`patchmerge collect` as a user runs it: outputs, summary, exit codes; the bundled example round trip."""

import json
import shutil
import tomllib

from patchmerge import bundled
from patchmerge.cli import main
from tests.collection.conftest import PROFILE


def _profile_file(tmp_path, data):
    lines = [f'name = "{data["name"]}"']
    for section in ("sources", "registrations", "collect"):
        lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in data[section].items()]
    path = tmp_path / "p.toml"
    path.write_text("\n".join(lines) + "\n")
    assert tomllib.loads(path.read_text())
    return path


def test_cli_partial_writes_json_and_sidecar(capsys, tree, tmp_path):
    out = tmp_path / "o" / "c.json"
    code = main(["collect", str(tree), "--profile", str(_profile_file(tmp_path, PROFILE)), "-o", str(out)])
    _, err = capsys.readouterr()
    assert code == 1  # compute_name() cannot be read
    assert "11 patches on 3 targets" in err and "1 unreadable" in err and "2 dead" in err
    assert json.loads(out.read_text())["'megatron.core.mod.f'"][0]["patch_import"] == "mindspeed.ops.f_impl"
    assert json.loads((tmp_path / "o" / "c.provenance.json").read_text())["unreadable"]


def test_cli_default_output_and_exit_0(capsys, tmp_path):
    root = tmp_path / "mini"
    shutil.copytree(bundled.example_root(), root)
    code = main(["collect", str(root), "--profile", "example"])
    _, err = capsys.readouterr()
    assert code == 0, err
    collected = json.loads((root / ".patchmerge" / "collected.json").read_text())
    hand = json.loads((root / "patches.json").read_text())
    pairs = lambda doc: [(k, p["patch_import"], p["condition"]) for k, v in doc.items() for p in v]  # noqa: E731
    assert pairs(collected) == pairs(hand)  # the bundled example's JSON, reproduced from its adaptor


def test_cli_stdout_and_plan_round_trip(capsys, tmp_path):
    code = main(["collect", str(bundled.example_root()), "--profile", "example", "-o", "-"])
    out, _ = capsys.readouterr()
    assert code == 0
    path = tmp_path / "c.json"
    path.write_text(out)
    code = main(["plan", str(bundled.example_root()), str(path), "--profile", "example", "--json"])
    plan, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(plan)
    assert doc["patches_total"] == doc["patches_resolved"] == 39


def test_cli_bad_input_exit_2(capsys, tmp_path):
    assert main(["collect", str(tmp_path / "missing"), "--profile", "example"]) == 2
    no_entry = dict(PROFILE, collect={"apply_calls": []})
    (tmp_path / "root" / "Megatron-LM").mkdir(parents=True)
    (tmp_path / "root" / "MindSpeed").mkdir()
    (tmp_path / "root" / "MindSpeed-LLM").mkdir()
    assert main(["collect", str(tmp_path / "root"), "--profile", str(_profile_file(tmp_path, no_entry))]) == 2
    _, err = capsys.readouterr()
    assert "collect.entry" in err


def _example_copy(tmp_path):
    root = tmp_path / "mini"
    shutil.copytree(bundled.example_root(), root)
    return root


def test_merge_collect_fuses_what_the_adaptor_registers(capsys, tmp_path):
    root = _example_copy(tmp_path)
    code = main(["merge", str(root), "--profile", "example", "--collect"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "collected 39 patches on 32 targets" in err
    report = json.loads((root / ".patchmerge" / "report" / "report.json").read_text())
    assert report["patches_fused"] == 39 and report["patches_failed"] == 0
    assert (root / ".patchmerge" / "collected.provenance.json").is_file()


def test_merge_collect_and_a_patch_json_together_is_bad_input(capsys, tmp_path):
    root = _example_copy(tmp_path)
    assert main(["merge", str(root), str(root / "patches.json"), "--profile", "example", "--collect"]) == 2
    assert "not both" in capsys.readouterr().err


def test_no_patch_json_anywhere_collects(capsys, tmp_path):
    root = _example_copy(tmp_path)
    profile = tmp_path / "no-json.toml"
    text = (bundled.configs_dir() / "example.toml").read_text().replace('patch_json = "patches.json"\n', "")
    profile.write_text(text)
    code = main(["plan", str(root), "--profile", str(profile), "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and json.loads(out)["patches_total"] == 39 and "collected 39 patches" in err


def test_no_patch_json_and_no_collect_entry_names_both_keys(capsys, tmp_path):
    root = _example_copy(tmp_path)
    profile = tmp_path / "bare.toml"
    text = (bundled.configs_dir() / "example.toml").read_text().replace('patch_json = "patches.json"\n', "")
    profile.write_text(text.split("[collect]")[0])
    assert main(["plan", str(root), "--profile", str(profile)]) == 2
    err = capsys.readouterr().err
    assert "'patch_json'" in err and "'collect.entry'" in err


def test_merge_of_a_collected_json_names_the_loop_it_cannot_disable(capsys, tree, tmp_path):
    profile = _profile_file(tmp_path, PROFILE)
    main(["merge", str(tree), "--profile", str(profile), "--collect"])
    capsys.readouterr()
    report = json.loads((tree / ".patchmerge" / "report" / "report.json").read_text())
    table = [p for p in report["patches"] if p["patch_import"] == "mindspeed_llm.patches.impl.h_wrapper"]
    assert table and table[0]["outcome"] == "failed"
    assert "registered at MindSpeed-LLM/mindspeed_llm/adaptor.py:" in table[0]["reason"]
    assert "computed target" in table[0]["reason"]


def test_merge_of_a_collected_direct_assignment_says_so(capsys, tmp_path):
    root = _example_copy(tmp_path)
    adaptor = root / "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py"
    text = adaptor.read_text().replace(
        "    def patch_fusions(self):\n",
        "    def patch_fusions(self):\n"
        "        import megatron.core.parallel_state\n"
        "        from mindspeed.core.parallel_state import get_context_parallel_group_for_send_recv_overlap as g\n"
        "        megatron.core.parallel_state.plain_name = g\n",
        1,
    )
    adaptor.write_text(text)
    profile = tmp_path / "direct.toml"
    profile.write_text((bundled.configs_dir() / "example.toml").read_text() + "direct_assignments = true\n")
    main(["merge", str(root), "--profile", str(profile), "--collect"])
    capsys.readouterr()
    report = json.loads((root / ".patchmerge" / "report" / "report.json").read_text())
    [plain] = [p for p in report["patches"] if p["target"] == "megatron.core.parallel_state.plain_name"]
    assert plain["outcome"] == "failed" and plain["reason"].startswith("applied by a plain assignment at MindSpeed-LLM")


TABLE = """    def patch_fusions(self):
        from mindspeed.core.fusions.fused_bias_swiglu import SwiGLUFunction
        from mindspeed.core.fusions.fused_softmax import from_config, get_batch_per_block, is_kernel_available

        softmax = 'megatron.core.fusions.fused_softmax.FusedScaleMaskSoftmax'
        table = [
            ('megatron.core.fusions.fused_bias_swiglu.SwiGLUFunction', SwiGLUFunction),
            (softmax + '.is_kernel_available', is_kernel_available),
            (softmax + '.get_batch_per_block', get_batch_per_block),
            (softmax + '.from_config', from_config),
        ]
        for target, func in table:
            MegatronAdaptation.register(target, func)

"""


def test_a_loop_over_a_table_is_disabled_once_all_it_registers_is_fused(capsys, tmp_path):
    root = _example_copy(tmp_path)
    adaptor = root / "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py"
    text = adaptor.read_text()
    start, end = text.index("    def patch_fusions(self):"), text.index("    def patch_parallel_state(self):")
    adaptor.write_text(text[:start] + TABLE + text[end:])
    assert main(["merge", str(root), "--profile", "example", "--collect"]) == 0
    capsys.readouterr()
    report = json.loads((root / ".patchmerge" / "report" / "report.json").read_text())
    assert report["patches_fused"] == 39 and report["patches_failed"] == 0
    assert "# patchmerge: fused: MegatronAdaptation.register(target, func)" in adaptor.read_text()
    # the fused tree, with the adaptor still running, prints what the runtime-patched pristine tree printed
    workspace = tmp_path / "ws"
    code = main(["check", str(root), "--profile", "example", "--workspace", str(workspace), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["verdict"] == "pass", document


def _table_example(tmp_path):
    root = _example_copy(tmp_path)
    adaptor = root / "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py"
    text = adaptor.read_text()
    start, end = text.index("    def patch_fusions(self):"), text.index("    def patch_parallel_state(self):")
    adaptor.write_text(text[:start] + TABLE + text[end:])
    return root, adaptor


def test_a_loop_is_kept_when_one_of_its_patches_cannot_be_fused(capsys, tmp_path):
    root, adaptor = _table_example(tmp_path)
    softmax = root / "MindSpeed/mindspeed/core/fusions/fused_softmax.py"
    softmax.write_text(softmax.read_text().replace("def from_config(", "def from_config_gone("))
    main(["merge", str(root), "--profile", "example", "--collect"])
    capsys.readouterr()
    report = json.loads((root / ".patchmerge" / "report" / "report.json").read_text())
    table = [p for p in report["patches"] if p["target"].startswith("megatron.core.fusions")]
    assert all(p["outcome"] == "failed" for p in table)
    assert "MegatronAdaptation.register(target, func)\n" in adaptor.read_text()  # still active
    reasons = [p["reason"] for p in table if "computed target" in p["reason"]]
    assert len(reasons) == 3 and "not every patch it registers can be fused" in reasons[0]


def test_a_loop_is_kept_when_the_json_leaves_out_one_of_its_patches(capsys, tmp_path):
    root, adaptor = _table_example(tmp_path)
    assert main(["collect", str(root), "--profile", "example"]) == 0
    collected = root / ".patchmerge" / "collected.json"
    data = json.loads(collected.read_text())
    key = "'megatron.core.fusions.fused_softmax.FusedScaleMaskSoftmax.from_config'"
    del data[key]  # the loop still registers it at run time
    collected.write_text(json.dumps(data))
    main(["merge", str(root), str(collected), "--profile", "example"])
    capsys.readouterr()
    assert "MegatronAdaptation.register(target, func)\n" in adaptor.read_text()
    report = json.loads((root / ".patchmerge" / "report" / "report.json").read_text())
    assert all(p["outcome"] == "failed" for p in report["patches"] if p["target"].startswith("megatron.core.fusions"))


def test_cut_takes_a_collected_json_as_it_is(capsys, tmp_path):
    root = _example_copy(tmp_path)
    assert main(["collect", str(root), "--profile", "example"]) == 0
    collected = root / ".patchmerge" / "collected.json"
    capsys.readouterr()
    assert main(["cut", str(collected), "--count"]) == 0
    assert "targets 32, patches 39" in capsys.readouterr().out
    out = tmp_path / "first.json"
    assert main(["cut", str(collected), "--left", "0", "--right", "5", "-o", str(out)]) == 0
    records = [r for plist in json.loads(out.read_text()).values() for r in plist]
    assert len(records) == 5 and all("phase" in r and "collection" in r for r in records)
