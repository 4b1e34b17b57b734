"""Pieces of the ROOT_DIRs the differential and real-code suites write: the args module the profile's
`args_accessor` / `args_setter` name, and the profile itself."""

from __future__ import annotations

import json
from collections.abc import Sequence

# the args module (Megatron's `megatron.training.global_vars`), as {relative path: source}; the source is dedented
ARGS_MODULE = {
    "Megatron-LM/megatron/training/global_vars.py": '''
        _GLOBAL_ARGS = None


        def get_args():
            """The parsed command-line arguments."""
            assert _GLOBAL_ARGS is not None, "args are not initialized"
            return _GLOBAL_ARGS


        def set_args(args):
            global _GLOBAL_ARGS
            _GLOBAL_ARGS = args
    ''',
}


def profile_text(
    name: str,
    registration_files: Sequence[str],
    calls: Sequence[str] = ("MegatronAdaptation.register",),
    *,
    description: str | None = None,
    semantics: str | None = None,
    adaptor_args_files: Sequence[str] = (),
    adaptor_unknown_args: bool = False,
    adaptor_args_adjust: Sequence[str] = (),
    adaptor_args_guarded: Sequence[str] = (),
    adaptor_args_entry: str = "",
) -> str:
    """A profile for a ROOT_DIR of the three source roots with `patches.json` at its top and ARGS_MODULE."""
    lines = [f"name = {json.dumps(name)}"]
    if description is not None:
        lines.append(f"description = {json.dumps(description)}")
    lines += [
        'patch_json = "patches.json"',
        "",
        "[sources]",
        'roots = ["Megatron-LM", "MindSpeed", "MindSpeed-LLM"]',
        'rewritable = ["megatron", "mindspeed", "mindspeed_llm"]',
        "",
        "[registrations]",
        f"files = {json.dumps(list(registration_files))}",
        f"calls = {json.dumps(list(calls))}",
        "",
        "[runtime]",
        'args_accessor = "megatron.training.get_args"',
        'args_setter = "megatron.training.global_vars.set_args"',
        'helper_module = "megatron._patchmerge"',
    ]
    if semantics is not None:
        lines.append(f"semantics = {json.dumps(semantics)}")
    if adaptor_args_files:
        lines.append(f"adaptor_args_files = {json.dumps(list(adaptor_args_files))}")
    if adaptor_unknown_args:
        lines.append("adaptor_unknown_args = true")
    if adaptor_args_adjust:
        lines.append(f"adaptor_args_adjust = {json.dumps(list(adaptor_args_adjust))}")
    if adaptor_args_guarded:
        lines.append(f"adaptor_args_guarded = {json.dumps(list(adaptor_args_guarded))}")
    if adaptor_args_entry:
        lines.append(f"adaptor_args_entry = {json.dumps(adaptor_args_entry)}")
    return "\n".join(lines) + "\n"
