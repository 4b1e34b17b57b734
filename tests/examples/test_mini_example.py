"""The bundled example tree (examples/mini): it runs, every patch is observable, patches.json matches the adaptor."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path

import pytest

MINI = Path(__file__).resolve().parents[2] / "examples" / "mini"
LLM = MINI / "MindSpeed-LLM"
ROOTS = (MINI / "Megatron-LM", MINI / "MindSpeed", LLM)
ADAPTOR = LLM / "mindspeed_llm" / "tasks" / "megatron_adaptor.py"
PATCH_JSON = MINI / "patches.json"
MODEL_SHELL = LLM / "examples" / "mini" / "pretrain_mini.sh"

LOSS_LINE = re.compile(r"^iteration (\d+)/(\d+) \| loss: (\d+\.\d{6}) \| params norm: (\d+\.\d{6})$", re.M)
CALL_LOG_LINE = re.compile(r"^call log: (\d+) calls \| digest: ([0-9a-f]{12})$", re.M)
CHECKPOINT_LINE = re.compile(r"^saved checkpoint at iteration 3 \| (\d+) tensors \| checksum: (\d+\.\d{6})$", re.M)

PRISTINE_LOSS = "0.094112"  # the tree with no patch at all (MINI_NO_PATCHES=1), whatever MindSpeed-LLM flag is given

# name -> (command-line flags, final loss with the runtime patches). A fused tree must print the same loss.
COMBOS = {
    "default": ((), "0.127149"),
    "mode-a-fast-norm": (("--mode", "a", "--use-fast-norm"), "0.132376"),
    "tp2d-mode-b": (("--tp-2d", "--mode", "b"), "0.125576"),
    "mode-b": (("--mode", "b"), "0.127021"),
    "fused-attention": (("--use-fused-attention",), "0.126830"),
    "fused-attention-over-mode-a": (("--use-fused-attention", "--mode", "a"), "0.126830"),
    "flash-unaligned": (("--use-flash-attn", "--unaligned-linear"), "0.123758"),
    "moe": (("--num-experts", "2"), "0.107767"),
    "qlora-moe": (("--qlora", "--num-experts", "2"), "0.380301"),
    "legacy": (("--use-legacy-models",), "0.186839"),
    "local-no-layer-scale": (("--transformer-impl", "local", "--no-layer-scale"), "0.127396"),
}
# Combos whose losses are equal on purpose: the later, forced registration wins over --mode a.
SAME_LOSS = {frozenset({"fused-attention", "fused-attention-over-mode-a"})}
MINDSPEED_ONLY_FLAGS = ("--mode", "a", "--tp-2d", "--use-flash-attn", "--qlora", "--use-fast-norm", "--no-layer-scale")

# Each kind of patch the example must exercise -> patch ids (TARGET#INDEX) in patches.json.
KINDS = {
    "replace module function": ["megatron.training.utils.calc_params_l2_norm#0"],
    "replace method": ["megatron.core.fusions.fused_softmax.FusedScaleMaskSoftmax.is_kernel_available#0"],
    "replace staticmethod": [
        "megatron.core.fusions.fused_softmax.FusedScaleMaskSoftmax.get_batch_per_block#0",
        "mindspeed.core.transformer.moe.grouped_gemm_util.Ops.gmm#0",
    ],
    "replace classmethod": ["megatron.core.fusions.fused_softmax.FusedScaleMaskSoftmax.from_config#0"],
    "replace class (same name)": [
        "megatron.core.fusions.fused_bias_swiglu.SwiGLUFunction#0",
        "megatron.legacy.model.GPTModel#0",
    ],
    "replace class (inherits original under alias)": ["megatron.core.models.gpt.gpt_model.GPTModel#0"],
    "variable bound to a class": [
        "megatron.core.transformer.moe.grouped_gemm_util.ops#0",
        "megatron.core.transformer.transformer_block.TENorm#0",
    ],
    "new module function": ["megatron.core.parallel_state.get_context_parallel_group_for_send_recv_overlap#0"],
    "new method": ["megatron.core.transformer.transformer_block.TransformerBlock.get_layer_scale#0"],
    "routed replacements": [
        "megatron.core.transformer.attention.Attention.forward#0",
        "megatron.core.transformer.attention.Attention.forward#1",
        "megatron.core.transformer.attention.Attention.forward#2",
    ],
    "conditional class replacement": ["megatron.core.transformer.dot_product_attention.DotProductAttention#0"],
    "route + wrapper + wrapper + route": [
        f"megatron.core.transformer.transformer_config.TransformerConfig.__post_init__#{i}" for i in range(4)
    ],
    "stacked wrappers": [
        "megatron.core.parallel_state.destroy_model_parallel#0",
        "megatron.core.parallel_state.destroy_model_parallel#1",
    ],
    "conditional wrapper": ["megatron.core.transformer.attention.SelfAttention.__init__#0"],
    "wrapper on dataclass __init__": ["megatron.core.optimizer.optimizer_config.OptimizerConfig.__init__#0"],
    "wrapper on inherited method": [
        "megatron.core.transformer.mlp.GatedMLP.forward#0",
        "megatron.legacy.model.transformer.ParallelTransformer.state_dict_for_save_checkpoint#0",
    ],
    "target in a module that only imports it": ["megatron.training.training.unwrap_model#0"],
    "one definition, two targets, same wrapper": [
        "megatron.training.checkpointing.unwrap_model#0",
        "megatron.training.training.unwrap_model#0",
    ],
    "target inside mindspeed": ["mindspeed.core.transformer.moe.grouped_gemm_util.Ops.gmm#0"],
    "patch source inside megatron": [
        "megatron.core.models.gpt.gpt_layer_specs.get_gpt_layer_with_transformer_engine_spec#0"
    ],
    "condition_import": ["megatron.training.training.get_model#0", "megatron.training.training.get_model#1"],
    "force_patch": ["megatron.core.transformer.attention.Attention.forward#2"],
    "several conditions": ["megatron.core.tensor_parallel.layers.RowParallelLinear.forward#0"],
}


def _env(patches: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MINI_NO_PATCHES")}
    env["PYTHONPATH"] = os.pathsep.join(str(root) for root in ROOTS)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep the bundled tree free of __pycache__
    if not patches:
        env["MINI_NO_PATCHES"] = "1"
    return env


@cache
def run_mini(flags: tuple[str, ...] = (), patches: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "pretrain_mini.py", *flags],
        cwd=LLM,
        env=_env(patches),
        capture_output=True,
        text=True,
        timeout=120,
    )


def final_loss(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stderr
    lines = LOSS_LINE.findall(proc.stdout)
    assert [(it, total) for it, total, _, _ in lines] == [("1", "3"), ("2", "3"), ("3", "3")], proc.stdout
    return lines[-1][2]


def call_log(proc: subprocess.CompletedProcess) -> list[str]:
    order = re.search(r"^call order: (.*)$", proc.stdout, re.M)
    assert order, proc.stdout
    return [entry.rsplit(" x", 1)[0] for entry in order.group(1).split(", ")]


def load_patches() -> dict[str, list[dict]]:
    return json.loads(PATCH_JSON.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------- running the model


@pytest.mark.parametrize("name", sorted(COMBOS))
def test_runs_with_runtime_patches(name):
    flags, expected = COMBOS[name]
    proc = run_mini(flags)
    assert final_loss(proc) == expected
    assert CALL_LOG_LINE.search(proc.stdout)
    assert CHECKPOINT_LINE.search(proc.stdout)
    assert f"iteration 3/3 | loss: {expected}" in proc.stdout  # the PATTERN a check of this combo would use


def test_losses_differ_between_combos():
    losses = {name: final_loss(run_mini(flags)) for name, (flags, _) in COMBOS.items()}
    names = sorted(losses)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if frozenset({a, b}) in SAME_LOSS:
                assert losses[a] == losses[b], (a, b)
            else:
                assert losses[a] != losses[b], (a, b, losses[a])


def test_pristine_tree_ignores_mindspeed_flags():
    plain = run_mini((), patches=False)
    flagged = run_mini(MINDSPEED_ONLY_FLAGS, patches=False)
    assert final_loss(plain) == final_loss(flagged) == PRISTINE_LOSS
    assert plain.stdout == flagged.stdout
    assert all(name.startswith("megatron:") for name in call_log(plain))
    assert final_loss(run_mini(())) != PRISTINE_LOSS


def test_runtime_patches_are_reproducible():
    first = run_mini(("--mode", "a"))
    again = subprocess.run(
        [sys.executable, "pretrain_mini.py", "--mode", "a"], cwd=LLM, env=_env(True), capture_output=True, text=True
    )
    assert first.stdout == again.stdout


def test_call_log_shows_runtime_semantics():
    log = call_log(run_mini(()))
    counts = dict(re.findall(r"(\S+) x(\d+)", run_mini(()).stdout.split("call order: ")[1]))
    # unwrap_model gets unwrap_model_wrapper through two targets: wrapped twice everywhere, defining module included
    assert int(counts["mindspeed_llm:unwrap_model_wrapper"]) == 2 * int(counts["megatron:unwrap_model"])
    # the TE spec name is bound to Megatron's own local spec, which the local-spec wrapper does not reach
    assert "megatron:get_gpt_layer_local_spec" in log
    assert "megatron:get_gpt_layer_with_transformer_engine_spec" not in log
    assert "mindspeed_llm:get_gpt_layer_local_spec_wrapper" not in log
    # wrappers run innermost-first: the route/original, then the wrappers in registration order
    post_init = [n for n in log if "post_init" in n]
    assert post_init == [
        "megatron:TransformerConfig.__post_init__",
        "mindspeed:transformer_config_post_init_wrapper",
        "mindspeed_llm:transformer_config_post_init_mtp_wrapper",
    ]
    destroy = [n for n in log if "destroy_model_parallel" in n]
    assert destroy == [
        "megatron:destroy_model_parallel",
        "mindspeed_llm:destroy_model_parallel_decorator",
        "mindspeed:destroy_model_parallel_wrapper",
    ]


def test_overlapping_replacements_without_force_patch_raise_at_runtime():
    """--tp-2d and --unaligned-linear both register transformer_config_post_init: MindSpeed 2.1.0 raises."""
    proc = run_mini(("--tp-2d", "--unaligned-linear"))
    assert proc.returncode != 0
    assert "RuntimeError: the patch of __post_init__ exist !" in proc.stderr  # MindSpeed's words


def test_model_shell_runs_from_anywhere(tmp_path):
    env = _env(True)
    env["PYTHON"] = sys.executable
    proc = subprocess.run(
        ["bash", str(MODEL_SHELL), "--mode", "a", "--use-fast-norm"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert final_loss(proc) == COMBOS["mode-a-fast-norm"][1]


# ---------------------------------------------------------------------------------------------- patches.json


def test_patch_json_has_the_real_files_structure():
    patches = load_patches()
    assert len(patches) >= 25
    for key, entries in patches.items():
        assert key.startswith("'") and key.endswith("'"), key
        assert isinstance(entries, list) and entries, key
        for entry in entries:
            assert set(entry) <= {"patch_import", "patch_name", "condition", "condition_import", "force_patch"}
            assert entry["patch_import"].rsplit(".", 1)[1] == entry["patch_name"]
            assert isinstance(entry["condition"], list)
            for condition in entry["condition"]:
                ast.parse(condition, mode="eval")
            called = {
                node.func.id
                for condition in entry["condition"]
                for node in ast.walk(ast.parse(condition, mode="eval"))
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            }
            assert {name.rsplit(".", 1)[1] for name in entry.get("condition_import", [])} == called
            assert isinstance(entry.get("force_patch", False), bool)


def test_every_kind_is_covered():
    ids = {f"{key.strip(chr(39))}#{i}" for key, entries in load_patches().items() for i in range(len(entries))}
    for kind, kind_ids in KINDS.items():
        assert set(kind_ids) <= ids, kind


def _adaptor_registrations() -> list[tuple[str, dict]]:
    """(target, entry) per MegatronAdaptation.register call, in source order, with the enclosing if conditions."""
    tree = ast.parse(ADAPTOR.read_text(encoding="utf-8"))
    found: list[tuple[str, dict]] = []

    def visit(statements, conditions, imported):
        for statement in statements:
            if isinstance(statement, ast.If):
                assert not statement.orelse, "the adaptor of the example uses plain ifs"
                visit(statement.body, [*conditions, ast.unparse(statement.test)], imported)
                continue
            call = statement.value if isinstance(statement, ast.Expr) else None
            if not (isinstance(call, ast.Call) and ast.unparse(call.func) == "MegatronAdaptation.register"):
                continue
            patch_import = imported[call.args[1].id]
            entry = {"patch_import": patch_import, "patch_name": patch_import.rsplit(".", 1)[1]}
            entry["condition"] = conditions
            used = {n.id for c in conditions for n in ast.walk(ast.parse(c)) if isinstance(n, ast.Name)}
            if used & imported.keys():
                entry["condition_import"] = sorted(imported[name] for name in used & imported.keys())
            if any(k.arg == "force_patch" and k.value.value for k in call.keywords):
                entry["force_patch"] = True
            found.append((call.args[0].value, entry))

    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.endswith("Adaptation") and node.name != "MegatronAdaptation":
            for method in node.body:
                if isinstance(method, ast.FunctionDef) and method.name != "execute":
                    imported = {
                        alias.asname or alias.name: f"{imp.module}.{alias.name}"
                        for imp in ast.walk(method)
                        if isinstance(imp, ast.ImportFrom)
                        for alias in imp.names
                    }
                    visit(method.body, [], imported)
    return found


def test_patch_json_matches_the_adaptor_registrations():
    registrations = _adaptor_registrations()
    # One register call per patch of the JSON (the same function may be registered twice under two conditions).
    calls = [(target, entry["patch_import"], tuple(entry["condition"])) for target, entry in registrations]
    assert len(calls) == len(set(calls))
    expected: dict[str, list[dict]] = {}
    for target, entry in registrations:
        expected.setdefault(f"'{target}'", []).append(entry)
    assert load_patches() == expected
    assert list(load_patches()) == list(expected)  # targets in first-registration order too


RUNTIME_PROBE = textwrap.dedent(
    """
    import importlib, json, sys
    from mindspeed_llm.tasks.megatron_adaptor import MegatronAdaptation
    from mindspeed_llm.tasks.posttrain.utils import is_enable_qlora

    seen = []
    register = MegatronAdaptation.register.__func__
    def spy(cls, name, new_func=None, force_patch=False, create_dummy=False):
        seen.append((name, new_func))
        register(cls, name, new_func, force_patch, create_dummy)
    MegatronAdaptation.register = classmethod(spy)
    MegatronAdaptation.apply = classmethod(lambda cls: None)
    MegatronAdaptation.execute()
    args = MegatronAdaptation.get_args()

    def load(dotted):
        module, _, name = dotted.rpartition(".")
        return getattr(importlib.import_module(module), name)

    expected = []
    for key, entries in json.load(open(sys.argv[1])).items():
        for entry in entries:
            scope = {"args": args}
            scope.update({n.rsplit(".", 1)[1]: load(n) for n in entry.get("condition_import", [])})
            if all(eval(c, scope) for c in entry["condition"]):
                expected.append((key.strip("'"), load(entry["patch_import"])))
    order = {name: i for i, name in enumerate(dict.fromkeys(name for name, _ in seen))}
    seen.sort(key=lambda item: order[item[0]])  # stable: registration order within each target
    expected.sort(key=lambda item: order.get(item[0], -1))
    assert [(n, id(f)) for n, f in seen] == [(n, id(f)) for n, f in expected], (seen, expected)
    print("ok", len(seen))
    """
)


@pytest.mark.parametrize("name", ["default", "tp2d-mode-b", "fused-attention-over-mode-a", "qlora-moe", "legacy"])
def test_patch_json_conditions_select_what_the_adaptor_registers(name):
    flags, _ = COMBOS[name]
    proc = subprocess.run(
        [sys.executable, "-c", RUNTIME_PROBE, str(PATCH_JSON), *flags],
        cwd=LLM,
        env=_env(True),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok ")


# ---------------------------------------------------------------------------------------------- the tree itself

ALLOWED_TOP_LEVEL = {"megatron", "mindspeed", "mindspeed_llm"}
OPTIONAL_IMPORTS = {"transformer_engine", "grouped_gemm"}  # imported in try/except ImportError, absent here


def _python_files():
    return sorted(MINI.rglob("*.py"))


ABSOLUTE_PATH = re.compile(r"""["'](/(home|root|tmp|work|usr)/)""")  # a machine path in a string literal


def test_tree_is_small_pure_python_and_portable():
    files = _python_files()
    assert 30 <= len(files) <= 120
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) < 400, path
        assert not ABSOLUTE_PATH.search(text), path
        compile(text, str(path), "exec")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in ALLOWED_TOP_LEVEL | OPTIONAL_IMPORTS, (path, name)
