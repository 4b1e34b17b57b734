"""The search: which units (targets, with all their patches) must be fused together for the run to fail.

Units are numbered in file order; `prefix(k)` is the first k of them. Fusing more patches is taken never to
mend a failing run (the usual assumption of bisection). Round one looks for the smallest failing prefix by
binary search: its last unit is needed. If that unit fails alone, it is the culprit: one culprit among N costs
the full run, ceil(log2 N) prefix runs and that one confirmation. Otherwise the search goes on below it with the
unit kept in, so two (or more) patches that fail only together are found too, each in about log2 N more runs.
With `jobs` > 1, each narrowing step tests that many points of the range at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from patchmerge.check.model import Verdict

Subset = frozenset[int]
# runs a batch of subsets (in parallel if it can) and returns their verdicts in the same order
Oracle = Callable[[Sequence[Subset]], list[Verdict]]


@dataclass
class Finding:
    culprits: list[int]  # unit numbers, ascending
    found: bool  # False: the full set passes (or cannot be judged), nothing to find
    ambiguous: bool = False  # skipped steps left a range that could not be narrowed
    note: str = ""


def expected_runs(units: int) -> int:
    """What one culprit among `units` costs: the full run, the binary search and one confirmation."""
    return 1 + math.ceil(math.log2(units)) + 1 if units > 1 else 1


def bisect_units(units: int, oracle: Oracle, jobs: int = 1) -> Finding:
    if units == 0:
        return Finding([], found=False, note="the patch file holds no patch")
    everything = frozenset(range(units))
    verdict = oracle([everything])[0]
    if verdict is Verdict.PASS:
        return Finding([], found=False, note="the run passes with every patch fused")
    if verdict is Verdict.SKIP:
        return Finding([], found=False, note="the run with every patch fused cannot be judged (exit 125)")
    fixed: set[int] = set()
    low, high = 0, units  # prefix(low) + fixed passes, prefix(high) + fixed fails
    while True:
        smallest, skipped_range = _smallest_failing(low, high, fixed, oracle, jobs)
        if skipped_range:
            culprits = sorted(fixed | set(range(low, high)))
            note = f"skipped steps left {high - low} candidate targets that could not be told apart"
            return Finding(culprits, found=True, ambiguous=True, note=note)
        fixed.add(smallest - 1)
        if smallest - 1 == 0:  # prefix(0) + fixed is prefix(1) + the old fixed: known to fail
            if len(fixed) == 1:
                return _check_baseline(fixed, oracle)
            return Finding(sorted(fixed), found=True)
        alone = oracle([frozenset(fixed)])[0]
        if alone is Verdict.FAIL:
            return Finding(sorted(fixed), found=True)
        if alone is Verdict.SKIP:
            note = "the last confirmation could not be judged (exit 125): more targets may be involved"
            return Finding(sorted(fixed), found=True, ambiguous=True, note=note)
        low, high = 0, smallest - 1


def _check_baseline(fixed: set[int], oracle: Oracle) -> Finding:
    """The first unit alone fails: make sure the tree does not fail with nothing fused at all."""
    baseline = oracle([frozenset()])[0]
    if baseline is Verdict.FAIL:
        return Finding([], found=False, note="the run fails with no patch fused: the tree itself is broken")
    note = "" if baseline is Verdict.PASS else "the run with nothing fused could not be judged (exit 125)"
    return Finding(sorted(fixed), found=True, ambiguous=baseline is not Verdict.PASS, note=note)


def _smallest_failing(low: int, high: int, fixed: set[int], oracle: Oracle, jobs: int) -> tuple[int, bool]:
    """The smallest k in (low, high] whose prefix fails with `fixed`; True if skips left it undecided."""
    skipped: set[int] = set()
    while high - low > 1:
        points = _probe_points(low, high, skipped, max(1, jobs))
        if not points:
            return high, True
        verdicts = oracle([frozenset(range(p)) | fixed for p in points])
        failing = [p for p, v in zip(points, verdicts, strict=True) if v is Verdict.FAIL]
        passing = [p for p, v in zip(points, verdicts, strict=True) if v is Verdict.PASS]
        skipped.update(p for p, v in zip(points, verdicts, strict=True) if v is Verdict.SKIP)
        if failing:
            high = min(failing)
        below = [p for p in passing if p < high]
        if below:
            low = max(below)
    return high, False


def _probe_points(low: int, high: int, skipped: set[int], jobs: int) -> list[int]:
    """Up to `jobs` untested points splitting (low, high) evenly; a skipped point gives way to its nearest
    untested neighbour, as `git bisect skip` does."""
    open_points = [p for p in range(low + 1, high) if p not in skipped]
    if not open_points:
        return []
    chosen: list[int] = []
    for part in range(1, jobs + 1):
        ideal = low + (high - low) * part / (jobs + 1)
        nearest = min((p for p in open_points if p not in chosen), key=lambda p: (abs(p - ideal), p), default=None)
        if nearest is not None:
            chosen.append(nearest)
    return sorted(chosen)
