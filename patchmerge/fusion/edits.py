"""File-level edits: the fused block at the end of a module, the args-setter hook, the runtime helper file."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst

from patchmerge.fusion.stanza import BLOCK_START, HELPER_ALIAS


class EditError(Exception):
    """An edit that cannot be made; the message names the file and what is wrong."""


def append_block(text: str, helper_module: str, stanzas: list[str], path: Path | None = None) -> str:
    """The module's text with the fused block appended; the original code stays as it was, above it.

    The block imports the runtime helper as `_patchmerge`; a module that binds that name itself (other than by
    an earlier merge's helper import) would have its binding replaced, so the edit is refused."""
    where = path if path is not None else "<module>"
    if binds_helper_alias(text, helper_module):
        raise EditError(
            f"{where}: the module already binds the name '{HELPER_ALIAS}' at module level, which the fused block "
            "needs for the runtime helper; rename it in the module first"
        )
    block = "\n".join([BLOCK_START, f"import {helper_module} as {HELPER_ALIAS}  # noqa: E402"])
    body = "\n\n\n".join(stanzas)
    return text.rstrip("\n") + "\n\n\n" + block + "\n\n\n" + body + "\n"


def binds_helper_alias(text: str, helper_module: str) -> bool:
    """Whether module-level code (or a `global` statement) binds HELPER_ALIAS other than as the helper import."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                ours = isinstance(node, ast.Import) and alias.name == helper_module and alias.asname == HELPER_ALIAS
                if bound == HELPER_ALIAS and not ours:
                    return True
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == HELPER_ALIAS:
                return True
            # their bodies are other scopes; only decorators, defaults, bases run at module level, and a
            # `global` statement inside binds the module's name
            if any(isinstance(n, ast.Global) and HELPER_ALIAS in n.names for n in ast.walk(node)):
                return True
            outer: list[ast.AST] = list(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                outer += [*node.bases, *node.keywords]
            else:
                outer += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            pending += outer
            continue
        if isinstance(node, ast.comprehension):  # its target is local to the comprehension
            pending += [node.iter, *node.ifs]
            continue
        if isinstance(node, ast.Lambda):
            pending += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            continue
        if isinstance(node, ast.Name) and node.id == HELPER_ALIAS and isinstance(node.ctx, ast.Store | ast.Del):
            return True
        if isinstance(node, ast.ExceptHandler) and node.name == HELPER_ALIAS:
            return True
        if isinstance(node, ast.MatchAs | ast.MatchStar) and node.name == HELPER_ALIAS:
            return True
        if isinstance(node, ast.MatchMapping) and node.rest == HELPER_ALIAS:
            return True
        pending += list(ast.iter_child_nodes(node))
    return False


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

    # A class is a scope too: a method of a module-level class is not a module-level function, and a class
    # nested in the setter holds no return of the setter.
    def visit_ClassDef(self, node: cst.ClassDef) -> bool:  # noqa: N802
        self.depth += 1
        return True

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:  # noqa: N802
        self.depth -= 1
        return updated

    def visit_Return(self, node: cst.Return) -> None:  # noqa: N802
        # only a return directly in the setter's own body ends it early; one in a nested def does not
        # (a lambda holds no return statement)
        self.has_return = self.has_return or (self.inside and self.depth == 1)

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
