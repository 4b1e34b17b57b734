from patchmerge.formats import patch_set_from_mapping
from tests.reference.assignments import OTHER, assignments, condition_domains


def test_domains_from_truth_tests_and_comparisons():
    patches = patch_set_from_mapping(
        [
            (
                "a.b.f",
                [
                    {"patch_import": "x.y.f", "condition": ["args.tp_2d", "args.mode == 'a'"]},
                    {"patch_import": "x.y.g", "condition": ["not args.tp_2d", "args.mode in ('b', 'c')"]},
                    {"patch_import": "x.y.h", "condition": ["is_on(args)"], "condition_import": ["m.n.is_on"]},
                ],
            )
        ],
        source=None,
        format="json",
    ).patches
    domains = condition_domains(patches)
    assert domains == {"tp_2d": [False, True], "mode": [OTHER, "a", "b", "c"]}
    combos = list(assignments(domains))
    assert len(combos) == 8
    assert {"mode": "c", "tp_2d": False} in combos
