"""The search alone, against simulated runs: how many runs it needs and what it finds."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import pytest

from patchmerge.bisection.search import Subset, bisect_units, expected_runs
from patchmerge.check.model import Verdict


class Simulated:
    """A model run that fails when every unit of one of `breaking` is fused; exit 125 on `skips`."""

    def __init__(self, breaking: list[set[int]], skips: set[Subset] = frozenset(), baseline_fails: bool = False):
        self.breaking, self.skips, self.baseline_fails = breaking, skips, baseline_fails
        self.runs: list[Subset] = []

    def __call__(self, subsets: Sequence[Subset]) -> list[Verdict]:
        verdicts = []
        for subset in subsets:
            self.runs.append(subset)
            if subset in self.skips:
                verdicts.append(Verdict.SKIP)
            elif self.baseline_fails or any(b <= subset for b in self.breaking):
                verdicts.append(Verdict.FAIL)
            else:
                verdicts.append(Verdict.PASS)
        return verdicts


@pytest.mark.parametrize("culprit", range(64))
def test_one_culprit_among_64_within_log2_plus_2_runs(culprit: int) -> None:
    runs = Simulated([{culprit}])
    finding = bisect_units(64, runs)
    assert finding.culprits == [culprit] and finding.found and not finding.ambiguous
    assert len(runs.runs) <= math.ceil(math.log2(64)) + 2
    assert len(set(runs.runs)) == len(runs.runs), "no subset is run twice"


@pytest.mark.parametrize("units", [1, 2, 3, 5, 17, 100, 241])
def test_budget_holds_for_any_size(units: int) -> None:
    for culprit in {0, units // 3, units - 1}:
        runs = Simulated([{culprit}])
        assert bisect_units(units, runs).culprits == [culprit]
        assert len(runs.runs) <= expected_runs(units) + (1 if culprit == 0 else 0)


@pytest.mark.parametrize(("a", "b"), [(0, 1), (3, 40), (31, 32), (0, 63), (62, 63)])
def test_a_pair_that_fails_only_together(a: int, b: int) -> None:
    runs = Simulated([{a, b}])
    finding = bisect_units(64, runs)
    assert finding.culprits == [a, b] and not finding.ambiguous


def test_every_pair_of_a_small_set_is_found() -> None:
    for a, b in itertools.combinations(range(9), 2):
        assert bisect_units(9, Simulated([{a, b}])).culprits == [a, b]


def test_three_that_fail_only_together() -> None:
    assert bisect_units(50, Simulated([{4, 20, 33}])).culprits == [4, 20, 33]


def test_full_set_passing_finds_nothing_in_one_run() -> None:
    runs = Simulated([])
    finding = bisect_units(64, runs)
    assert not finding.found and finding.culprits == [] and len(runs.runs) == 1


def test_a_broken_baseline_is_not_blamed_on_the_first_patch() -> None:
    finding = bisect_units(16, Simulated([], baseline_fails=True))
    assert not finding.found and "no patch fused" in finding.note


def test_a_skipped_step_moves_to_a_neighbour() -> None:
    runs = Simulated([{40}], skips={frozenset(range(32))})
    finding = bisect_units(64, runs)
    assert finding.culprits == [40] and not finding.ambiguous


def test_skips_that_hide_the_answer_give_the_candidate_range() -> None:
    skips = {frozenset(range(k)) for k in range(1, 64)}
    finding = bisect_units(64, Simulated([{40}], skips=skips))
    assert finding.ambiguous and 40 in finding.culprits and len(finding.culprits) == 64


@pytest.mark.parametrize("jobs", [2, 3, 4])
def test_parallel_jobs_find_the_same_culprit_in_fewer_rounds(jobs: int) -> None:
    rounds: list[int] = []

    class Counting(Simulated):
        def __call__(self, subsets: Sequence[Subset]) -> list[Verdict]:
            rounds.append(len(subsets))
            return super().__call__(subsets)

    finding = bisect_units(64, Counting([{45}]), jobs=jobs)
    assert finding.culprits == [45]
    assert max(rounds) <= jobs
    assert len(rounds) < expected_runs(64)
