"""Conditional code at a definition: conditions over the adaptor's own parse, and `if`/`elif`/`else` chains."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from patchmerge.fusion.stanza import over_adaptor_args
from patchmerge.model import PlannedPatch
from patchmerge.plan.raises import Clash, clash_condition, grouped

if TYPE_CHECKING:  # binding imports nothing from here; only its type is named
    from patchmerge.fusion.insource.binding import Binding


def condition_code(pp: PlannedPatch, calls_read: dict[str, tuple[str, ...]]) -> str:
    """The patch's conditions as one expression over the adaptor's parse (rewritten on the tree); `calls_read`:
    the conditions that call a function, with the calls written out."""
    parts = [over_adaptor_args(text) for text in calls_read.get(pp.patch.id, pp.patch.condition)]
    if len(parts) == 1:
        return parts[0]
    return " and ".join(grouped(p) for p in parts)


def if_chain(
    branches: list[tuple[str, list[cst.BaseStatement]]], otherwise: list[cst.BaseStatement] | None
) -> cst.If:
    """`if c1: s1 elif c2: s2 ... else: otherwise`, the first branch whose condition holds taken."""
    orelse: cst.If | cst.Else | None = cst.Else(body=cst.IndentedBlock(otherwise)) if otherwise else None
    for condition, statements in reversed(branches):
        test = cst.parse_expression(condition)
        orelse = cst.If(test=test, body=cst.IndentedBlock(statements), orelse=orelse)
    assert isinstance(orelse, cst.If)
    return orelse


def wrapper_conditions(
    wrappers: list[PlannedPatch], semantics: str, calls_read: dict[str, tuple[str, ...]]
) -> list[tuple[PlannedPatch, str | None]]:
    """Each wrapper registration to write, with the condition it applies under (None: always). A wrapper
    registered again wraps again in 2.1.0; from 2.2.0 the Patch keeps it once, where it was first
    registered, so a later registration applies only where no earlier one did."""
    written: list[tuple[PlannedPatch, str | None]] = []
    for position, pp in enumerate(wrappers):
        condition = condition_code(pp, calls_read) if pp.patch.is_conditional else None
        # one Patch per target: the same wrapper on two targets of one binding is two Patches, each applying it
        earlier = [e for e in wrappers[:position]
                   if e.patch.patch_import == pp.patch.patch_import and e.patch.target == pp.patch.target]
        if earlier and semantics != "2.1.0":
            if any(not e.patch.is_conditional for e in earlier):
                continue  # the first registration always applies: this one never wraps
            before = " or ".join(grouped(condition_code(e, calls_read)) for e in earlier)
            unless = f"not {grouped(before)}"
            condition = f"{grouped(condition)} and {unless}" if condition else unless
        written.append((pp, condition))
    return written


def clash_raise(clash: Clash, calls_read: dict[str, tuple[str, ...]]) -> cst.If:
    """`if <both registrations happen>: raise RuntimeError(...)`, as the runtime's adaptation raises then."""
    def code(pp: PlannedPatch) -> str:
        return condition_code(pp, calls_read) if pp.patch.is_conditional else ""

    condition = clash_condition(clash, code)
    statement = if_chain([(condition, [cst.parse_statement(f"raise RuntimeError({clash.message!r})")])], None)
    why = f"# patchmerge: {clash.later.patch.id} is a second replacement without force_patch: the runtime raises"
    return statement.with_changes(leading_lines=[cst.EmptyLine(comment=cst.Comment(why))])


def adaptation_statements(binding: Binding) -> list[cst.BaseStatement]:
    """What the runtime's adaptation does before any of the binding's code binds, written ahead of it: the clash
    raises, and where the order matters (`binding.in_order`) each condition that reads a name only unknown
    options give, evaluated in registration order (absent, it raises AttributeError there, as the runtime)."""
    if not binding.in_order:
        return [clash_raise(clash, binding.calls_read) for clash in binding.clashes]
    statements: list[cst.BaseStatement] = []
    for pp in binding.patches:
        if pp.patch.id in binding.unknown_reads:
            why = f"# patchmerge: the runtime evaluates {pp.patch.id}'s condition as it adapts, in this order"
            evaluation = cst.parse_statement(condition_code(pp, binding.calls_read))
            statements.append(evaluation.with_changes(leading_lines=[cst.EmptyLine(comment=cst.Comment(why))]))
        statements += [clash_raise(clash, binding.calls_read) for clash in binding.clashes if clash.later is pp]
    return statements
