"""The flags probes test: a global of the module that holds the probed definition, one per definition, true
until the definition first runs. Reading a global costs a probed call about a third of what reading an
attribute of the helper module costs (CPython 3.11 specialises both; the attribute is a second lookup).

A module that imports torch in any form tests the helper's attribute instead: TorchScript may compile its
definitions (a scripted caller compiles what it calls, often as the module is imported), and it refuses a global
bool but reads a module's attribute as a constant. Where the module surely imports torch as it loads, the test
adds `not torch.jit.is_scripting()`, which TorchScript takes as false without compiling the probe call (the merge
binds `torch` there if the module does not: `from torch import nn`). Where it imports torch only under a
condition, in a def, or for type checkers, the merge adds no import of torch: a caller scripted before the
definition first ran compiles the probe call and fails, as in a module with no torch at all, which keeps the
global."""

from __future__ import annotations

import ast

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import ImportItem

from patchmerge.fusion.insource.imports import add_imports, leading_imports_end
from patchmerge.fusion.runtime_template import pending_flag
from patchmerge.fusion.stanza import HELPER_ALIAS
from patchmerge.source.bindings import bound_at_run_time, imported_when_loaded

PREFIX = f"{HELPER_ALIAS}_"
COMMENT = "# patchmerge: the flags of this module's probes, each true until its definition first runs"


def flag_global(pid: str, chosen: bool = False) -> str:
    """The module global a probe of the definition standing for `pid` tests (the helper's flag, prefixed)."""
    return PREFIX + pending_flag(pid, chosen)


def helper_flag_test(flag: str, guarded: bool = True) -> str:
    """The test of a probe in a module that imports torch: the helper's attribute for the helper's flag `flag`,
    `guarded` by `torch.jit.is_scripting()` where the module binds torch."""
    return f"{HELPER_ALIAS}.{flag}" + (" and not torch.jit.is_scripting()" if guarded else "")


def binds_torch_as_loaded(tree: ast.Module) -> bool:
    """Whether an import statement at the module's own top level binds `torch` to the torch package (`import
    torch`, `import torch.nn`: `import torch.nn as nn` binds only `nn`)."""
    aliases = [alias for statement in tree.body if isinstance(statement, ast.Import) for alias in statement.names]
    return any(alias.name.split(".")[0] == "torch" and alias.asname in (None, "torch") and (
        alias.asname is None or alias.name == "torch") for alias in aliases)


def imports_torch(tree: ast.Module) -> bool:
    """Whether the module imports torch or one of its modules anywhere (in a def, under TYPE_CHECKING too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "torch" for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "torch":
            return True
    return False


def with_flags(module: cst.Module, flags: set[str]) -> cst.Module:
    """The module as written, its probes testing `flags` (module globals): declared, or where the module as
    written imports torch in any form (code moved into it may bring that), turned into the helper's."""
    if not flags:
        return module
    tree = ast.parse(module.code)
    if not imports_torch(tree):
        return declare_flags(module, flags)
    guarded = "torch" in imported_when_loaded(tree)
    if guarded and not binds_torch_as_loaded(tree):
        if bound_at_run_time(tree, "torch"):
            guarded = False  # the module binds the name `torch` otherwise
        else:
            module = add_imports(module, [ImportItem("torch", None, None)])  # imported already: this only binds it
    tests = {name: cst.parse_expression(helper_flag_test(name.removeprefix(PREFIX), guarded)) for name in flags}
    return m.replace(module, m.If(test=m.Name(m.MatchIfTrue(tests.__contains__))),
                     lambda node, _: node.with_changes(test=tests[node.test.value]))


def declare_flags(module: cst.Module, flags: set[str]) -> cst.Module:
    """`module` declaring, below its leading imports, each of `flags` (module globals) it does not declare yet:
    its value comes from the helper, which keeps it current."""
    declared = _declared(module)
    missing = sorted(flags - declared)
    if not missing:
        return module
    lines = [
        f"{name} = {HELPER_ALIAS}.probe_flag(globals(), {name.removeprefix(PREFIX)!r})\n" for name in missing
    ]
    statements = list(cst.parse_module("".join(lines)).body)
    comment = [] if declared else [cst.EmptyLine(), cst.EmptyLine(comment=cst.Comment(COMMENT))]
    first = statements[0]
    assert isinstance(first, cst.SimpleStatementLine)
    statements[0] = first.with_changes(leading_lines=comment)
    at = _after_declared(module) if declared else _after_imports(module)
    return module.with_changes(body=[*module.body[:at], *statements, *module.body[at:]])


def _after_imports(module: cst.Module) -> int:
    """Below the module's top-level imports (so no import follows a declaration), above its first def or class
    and any statement that holds one (so no probed definition runs before its flag is declared)."""
    at = leading_imports_end(module)
    for index, statement in enumerate(module.body):
        if m.findall(statement, m.FunctionDef() | m.ClassDef()):
            break
        if m.matches(statement, m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()])):
            at = max(at, index + 1)
    return at


def _declared(module: cst.Module) -> set[str]:
    return {name for statement in module.body if (name := _declaration(statement))}


def _after_declared(module: cst.Module) -> int:
    return max(n for n, statement in enumerate(module.body) if _declaration(statement)) + 1


def _declaration(statement: cst.BaseStatement) -> str | None:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    assign = statement.body[0]
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
        return None
    target = assign.targets[0].target
    if isinstance(target, cst.Name) and target.value.startswith(PREFIX + "pending_"):
        return target.value
    return None
