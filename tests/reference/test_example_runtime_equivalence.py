"""The reference runtime patcher, driven by examples/mini/patches.json, runs the example's model exactly as
the example's own adaptor does (an independent patch_utils), for every combination of condition values.

This is the runtime half of the differential proof: the fused tree is compared against this same reference.
"""

from __future__ import annotations

import argparse
import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from patchmerge.formats import json_format
from tests.example_runs import EXAMPLE, PATCHES, flags_for, run_reference, run_script
from tests.reference.assignments import assignments, condition_domains


def _conflicting_replacements(name: str, assignment: dict, patches) -> int:
    """How many replacements without force_patch hold for the target named `name` as the runtime's message
    names it, its last part (only plain `args.x` conditions)."""
    args = argparse.Namespace(**{"mode": "base", **assignment})
    holding = 0
    for patch in patches:
        replacement = not patch.force_patch and not patch.patch_name.endswith(("wrapper", "decorator"))
        if patch.target.rsplit(".", 1)[-1] == name and replacement:
            holding += all(eval(text, {"args": args}) for text in patch.condition)
    return holding


def test_reference_patcher_matches_the_example_adaptor_for_every_condition_combination():
    patches = json_format.parse(PATCHES.read_text(), PATCHES).patches
    domains = condition_domains(patches)
    domains["qlora"] = [False, True]  # read through is_enable_qlora(args), which the domains cannot see
    combos = list(assignments(domains))
    assert len(combos) >= 256

    def both(assignment):
        flags = flags_for(assignment)
        adaptor = run_script(EXAMPLE, flags, no_patches=False)
        reference = run_reference(EXAMPLE, flags)
        return assignment, adaptor, reference

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(both, combos))
    compared = raised = 0
    for assignment, adaptor, reference in results:
        if adaptor.returncode != 0:
            # the runtime raises when two replacements without force_patch hold in one collection; a flattened
            # JSON lets the later one win (plan notes this), so there is nothing to compare
            match = re.search(r"RuntimeError: the patch of (\S+) exist", adaptor.stderr)
            assert match, f"{assignment}: adaptor failed unexpectedly:\n{adaptor.stderr[-2000:]}"
            assert _conflicting_replacements(match.group(1), assignment, patches) >= 2
            raised += 1
            continue
        assert reference.returncode == 0, f"{assignment}:\n{reference.stderr[-2000:]}"
        assert reference.stdout == adaptor.stdout, f"outputs differ for {assignment}"
        assert "loss:" in adaptor.stdout
        compared += 1
    assert compared > raised > 0
    losses = {re.findall(r"loss: \S+", r[1].stdout)[-1] for r in results if r[1].returncode == 0}
    assert len(losses) > 10  # the flags really change what runs


@pytest.mark.parametrize("flags", [[], ["--tp-2d", "--mode", "b"]])
def test_without_patches_the_reference_run_differs_from_the_patched_one(flags):
    pristine = run_script(EXAMPLE, flags, no_patches=True)
    patched = run_reference(EXAMPLE, flags)
    assert pristine.returncode == patched.returncode == 0
    assert pristine.stdout != patched.stdout
