"""Where the runtime raises at adaptation: a second replacement on one Patch without force_patch (SPEC section 1).

MindSpeed's `Patch.set_patch_func` raises `RuntimeError('the patch of NAME exist !')` (NAME: the target's last
part) when a replacement is registered on a Patch that already holds one and `force_patch` is not given, in
2.1.0 and later alike. Which registrations share a Patch is known only where the patch file says so: a named
`collection` keeps one Patch per target across phases, and without one each `phase` (one apply call) is a Patch
of its own. A flattened JSON has neither; there a later replacement whose condition holds wins (SPEC section 1).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from patchmerge.model import Patch, PlannedPatch


def patch_key(patch: Patch) -> tuple[str, object] | None:
    """Which runtime Patch the registration goes to (for its target), or None where the file does not say."""
    if patch.collection is not None:
        return ("collection", patch.collection)
    if patch.phase is not None:
        return ("phase", patch.phase)
    return None


def runtime_message(target: str) -> str:
    """The runtime's message, naming the target as `Patch` stores it (its last part)."""
    return f"the patch of {target.rsplit('.', 1)[-1]} exist !"


@dataclass(frozen=True)
class Clash:
    """A replacement registration that raises when its condition holds and any of `earlier`'s does too."""

    later: PlannedPatch
    earlier: tuple[PlannedPatch, ...]

    @property
    def message(self) -> str:
        return runtime_message(self.later.patch.target)

    def describe(self) -> str:
        others = ", ".join(e.patch.id for e in self.earlier)
        return (f"the runtime raises RuntimeError({self.message!r}) at adaptation where {self.later.patch.id} "
                f"(no force_patch) is registered after {others} on the same Patch; the fused tree raises it too, "
                "when the target's module is imported (a deferred binding whose conditions need condition_import "
                "names: when it first settles)")


def clashes(replacements: Sequence[PlannedPatch]) -> list[Clash]:
    """The registrations among one target's replacements that can raise, in registration order; pairs whose
    conditions can never hold together are left out."""
    ordered = sorted(replacements, key=lambda pp: (pp.patch.phase or 0, pp.patch.index))
    found: list[Clash] = []
    for position, pp in enumerate(ordered):
        key = patch_key(pp.patch)
        if key is None or pp.patch.force_patch:
            continue
        earlier = tuple(
            e for e in ordered[:position]
            if patch_key(e.patch) == key and not exclusive(e.patch.condition, pp.patch.condition)
        )
        if earlier:
            found.append(Clash(pp, earlier))
    return found


def clash_condition(clash: Clash, code: Callable[[PlannedPatch], str]) -> str:
    """When `clash` raises, as one expression from each patch's condition code ("" for an unconditional one);
    "True" when it always does."""
    earlier = [code(e) for e in clash.earlier]
    before = "" if any(not e for e in earlier) else " or ".join(grouped(e) for e in earlier)
    parts = [p for p in (code(clash.later), before) if p]
    if not parts:
        return "True"
    return parts[0] if len(parts) == 1 else " and ".join(grouped(p) for p in parts)


def grouped(expression: str) -> str:
    """`expression` with brackets where it binds looser than `and` or `not`."""
    loose = (ast.BoolOp, ast.IfExp)
    return f"({expression})" if isinstance(ast.parse(expression, mode="eval").body, loose) else expression


def _facts(conditions: tuple[str, ...]) -> set[tuple[str, str, object]]:
    """Each condition as (subject, relation, value): `not e` is (e, "is", False), `x == 'a'` is (x, "==", 'a')."""
    facts: set[tuple[str, str, object]] = set()
    for text in conditions:
        node = ast.parse(text.strip(), mode="eval").body
        truth = True
        while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            node, truth = node.operand, not truth
        if (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Eq | ast.NotEq)
            and isinstance(node.comparators[0], ast.Constant)
        ):
            equal = isinstance(node.ops[0], ast.Eq) == truth
            facts.add((ast.dump(node.left), "==" if equal else "!=", node.comparators[0].value))
        else:
            facts.add((ast.dump(node), "is", truth))
    return facts


def exclusive(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    """True when the two condition lists (each ANDed) can never hold together."""
    one, other = _facts(first), _facts(second)
    for subject, relation, value in one:
        for subject2, relation2, value2 in other:
            if subject != subject2:
                continue
            if relation == relation2 == "is" and value != value2:
                return True
            if relation == relation2 == "==" and value != value2:
                return True
            if {relation, relation2} == {"==", "!="} and value == value2:
                return True
    return False
