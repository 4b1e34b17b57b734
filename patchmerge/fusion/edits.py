"""File-level edits: the fused block at the end of a module, the args-setter hook, the runtime helper file."""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from patchmerge.fusion.stanza import BLOCK_START, HELPER_ALIAS


class EditError(Exception):
    """An edit that cannot be made; the message names the file and what is wrong."""


def append_block(text: str, helper_module: str, stanzas: list[str]) -> str:
    """The module's text with the fused block appended; the original code stays as it was, above it."""
    block = "\n".join([BLOCK_START, f"import {helper_module} as {HELPER_ALIAS}  # noqa: E402"])
    body = "\n\n\n".join(stanzas)
    return text.rstrip("\n") + "\n\n\n" + block + "\n\n\n" + body + "\n"


def helper_import_block(helper_module: str) -> str:
    return "\n".join([BLOCK_START, f"import {helper_module} as {HELPER_ALIAS}  # noqa: E402", ""])


class _ArgsReadyHook(cst.CSTTransformer):
    """Append `_patchmerge.args_ready()` to the module-level function that stores the parsed args."""

    def __init__(self, function: str) -> None:
        self.function = function
        self.depth = 0
        self.hooked = 0
        self.inside = False
        self.has_return = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:  # noqa: N802 - libcst's interface
        self.depth += 1
        if self.depth == 1 and node.name.value == self.function:
            self.inside = True
        return True

    def visit_Return(self, node: cst.Return) -> None:  # noqa: N802
        self.has_return = self.has_return or self.inside

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:  # noqa: N802
        self.depth -= 1
        if self.depth == 0:
            self.inside = False
        if self.depth != 0 or updated.name.value != self.function or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        call = cst.parse_statement(
            f"{HELPER_ALIAS}.args_ready()  # patchmerge: settle fused classes once args are set\n"
        )
        self.hooked += 1
        return updated.with_changes(body=updated.body.with_changes(body=[*updated.body.body, call]))


def hook_args_setter(text: str, function: str, path: Path) -> str:
    if f"{HELPER_ALIAS}.args_ready()" in text:
        return text  # hooked by an earlier merge
    module = cst.parse_module(text)
    hook = _ArgsReadyHook(function)
    updated = module.visit(hook)
    if hook.hooked != 1:
        raise EditError(f"{path}: no module-level function '{function}' to hook (profile key runtime.args_setter)")
    if hook.has_return:
        raise EditError(f"{path}: '{function}' returns early; the args-ready hook needs a function without return")
    return updated.code
