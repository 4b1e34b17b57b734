"""The flags probes test: a global of the module that holds the probed definition, one per definition, true
until the definition first runs. Reading a global costs a probed call about a third of what reading an
attribute of the helper module costs (CPython 3.11 specialises both; the attribute is a second lookup). A
module that imports torch tests the helper's attribute instead (TorchScript refuses a global bool)."""

from __future__ import annotations

import libcst as cst

from patchmerge.fusion.insource.imports import leading_imports_end
from patchmerge.fusion.runtime_template import pending_flag
from patchmerge.fusion.stanza import HELPER_ALIAS

PREFIX = f"{HELPER_ALIAS}_"
COMMENT = "# patchmerge: the flags of this module's probes, each true until its definition first runs"


def flag_global(pid: str, chosen: bool = False) -> str:
    """The module global a probe of the definition standing for `pid` tests (the helper's flag, prefixed)."""
    return PREFIX + pending_flag(pid, chosen)


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
    at = _after_declared(module) if declared else leading_imports_end(module)
    return module.with_changes(body=[*module.body[:at], *statements, *module.body[at:]])


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
