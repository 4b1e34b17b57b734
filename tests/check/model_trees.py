"""Small generated ROOT_DIRs with a model shell, for check and bisect: `ops` targets, one wrapper patch each.

The adaptor registers every wrapper; the ones named in `conditional` only under `if args.never_set:` (never true),
while the patch JSON lists them all unconditionally. So fusing such a patch changes what runs, which is what a
wrong hand-made JSON does: the model prints `loss: N` with N = sum of 0..ops-1 only if none of them is fused.
A patch in `pair` adds one to the loss only if the other patch of the pair has run before it.
"""

from __future__ import annotations

import json
from pathlib import Path

from patchmerge import bundled

PATCH_UTILS = bundled.example_root() / "MindSpeed" / "mindspeed" / "patch_utils.py"


def expected_loss(ops: int) -> str:
    return f"loss: {sum(range(ops))}"


def write_model_tree(
    root: Path,
    ops: int = 64,
    conditional: tuple[int, ...] = (),
    pair: tuple[int, int] | None = None,
    shell_body: str | None = None,
) -> Path:
    """Write the tree and its profile (returned). `shell_body` replaces the model shell's command."""
    files: dict[str, str] = {
        "Megatron-LM/megatron/__init__.py": "",
        "Megatron-LM/megatron/core/__init__.py": "",
        "Megatron-LM/megatron/core/ops.py": "".join(f"def op_{i:02d}(x):\n    return x\n\n\n" for i in range(ops)),
        "Megatron-LM/megatron/training/__init__.py": "from megatron.training.global_vars import get_args, set_args\n",
        "Megatron-LM/megatron/training/global_vars.py": (
            "_ARGS = None\n\n\ndef get_args():\n    return _ARGS\n\n\n"
            "def set_args(args):\n    global _ARGS\n    _ARGS = args\n"
        ),
        "MindSpeed/mindspeed/__init__.py": "",
        "MindSpeed/mindspeed/patch_utils.py": PATCH_UTILS.read_text(encoding="utf-8"),
        "MindSpeed/mindspeed/ops_patches.py": _wrappers(ops, conditional, pair),
        "MindSpeed-LLM/mindspeed_llm/__init__.py": "",
        "MindSpeed-LLM/mindspeed_llm/tasks/__init__.py": "",
        "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py": _adaptor(ops, conditional, pair),
        "MindSpeed-LLM/train.py": (
            "import argparse\n\nfrom megatron.core import ops\nfrom megatron.training import set_args\n\n"
            "set_args(argparse.Namespace(never_set=False))\n"
            "from mindspeed_llm.tasks.megatron_adaptor import MegatronAdaptation\n\n"
            "MegatronAdaptation.execute()\n"
            f"print('loss:', sum(getattr(ops, f'op_{{i:02d}}')(i) for i in range({ops})), flush=True)\n"
        ),
        "MindSpeed-LLM/run.sh": "#!/bin/bash\nset -e\ncd \"$(dirname \"$0\")\"\n"
        + (shell_body if shell_body is not None else "python3 train.py\n"),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    patches = {
        f"'megatron.core.ops.op_{i:02d}'": [
            {"patch_import": f"mindspeed.ops_patches.op_{i:02d}_wrapper", "patch_name": f"op_{i:02d}_wrapper"}
        ]
        for i in range(ops)
    }
    (root / "patches.json").write_text(json.dumps(patches, indent=2), encoding="utf-8")
    profile = root.parent / f"{root.name}-profile.toml"
    profile.write_text(
        f"""name = "model-tree"
patch_json = "patches.json"
[sources]
roots = ["Megatron-LM", "MindSpeed", "MindSpeed-LLM"]
rewritable = ["megatron", "mindspeed", "mindspeed_llm"]
[registrations]
files = ["MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py"]
calls = ["MegatronAdaptation.register"]
[check]
model_shell = "run.sh"
pattern = "{expected_loss(ops)}"
timeout = 60
""",
        encoding="utf-8",
    )
    return profile


def _wrappers(ops: int, conditional: tuple[int, ...], pair: tuple[int, int] | None) -> str:
    lines = ["SEEN = set()\n\n"]
    for i in range(ops):
        extra = ""
        if i in conditional:
            extra = " + 1"
        elif pair is not None and i == pair[1]:
            extra = f" + (1 if {pair[0]} in SEEN else 0)"
        lines.append(
            f"def op_{i:02d}_wrapper(fn):\n    def wrapper(x):\n        SEEN.add({i})\n"
            f"        return fn(x){extra}\n\n    return wrapper\n\n\n"
        )
    return "".join(lines)


def _adaptor(ops: int, conditional: tuple[int, ...], pair: tuple[int, int] | None) -> str:
    hidden = set(conditional) | set(pair or ())
    body = []
    for i in range(ops):
        call = f"MegatronAdaptation.register('megatron.core.ops.op_{i:02d}', op_{i:02d}_wrapper)"
        body.append(f"        if args.never_set:\n            {call}\n" if i in hidden else f"        {call}\n")
    imports = ", ".join(f"op_{i:02d}_wrapper" for i in range(ops))
    return (
        "class MegatronAdaptation:\n    _patch_info_collection = {}\n\n"
        "    @classmethod\n    def register(cls, orig_func_name, new_func=None, force_patch=False):\n"
        "        from mindspeed.patch_utils import Patch\n\n"
        "        if orig_func_name not in cls._patch_info_collection:\n"
        "            cls._patch_info_collection[orig_func_name] = Patch(orig_func_name, new_func, False)\n"
        "        else:\n"
        "            cls._patch_info_collection[orig_func_name].set_patch_func(new_func, force_patch)\n\n"
        "    @classmethod\n    def execute(cls):\n"
        "        from megatron.training import get_args\n"
        f"        from mindspeed.ops_patches import {imports}\n\n"
        "        args = get_args()\n" + "".join(body) + "        for patch in cls._patch_info_collection.values():\n"
        "            patch.apply_patch()\n"
    )
