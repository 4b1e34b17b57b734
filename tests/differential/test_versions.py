"""Version-dependent runtime semantics (SPEC section 8), each fused and compared with the reference patcher
under both `runtime.semantics` values; the two versions must also really differ on the same scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.differential.harness import Scenario, compare
from tests.differential.test_functions import ATTEMPT, OPS, ROUTES, RUN_ROUTES

FILES = {
    "Megatron-LM/megatron/core/__init__.py": "",
    "Megatron-LM/megatron/core/ops.py": OPS,
    "MindSpeed/mindspeed/routes.py": ROUTES,
    "MindSpeed-LLM/scenario.py": ATTEMPT + RUN_ROUTES,
}


def both(tmp_path: Path, name: str, patches: dict[str, list[dict[str, Any]]]) -> tuple[list, list]:
    old = compare(tmp_path / "old", Scenario(f"{name}_2_1_0", FILES, patches, semantics="2.1.0"))
    new = compare(tmp_path / "new", Scenario(f"{name}_2_2_0", FILES, patches, semantics="2.2.0"))
    return old, new


def test_a_patch_registered_on_again_reapplies_over_itself_in_2_1_0_only(tmp_path: Path) -> None:
    # MegatronAdaptation.apply() after the core adaptations and again after the legacy ones: the Patch got a new
    # wrapper in between, so it is applied again. 2.1.0 starts from what is bound now (the first wrapper wraps
    # twice); 2.2.0 starts from the original it kept.
    patches = {
        "megatron.core.ops.scale": [
            {"patch_import": "mindspeed.routes.log_wrapper", "phase": 0, "collection": "MegatronAdaptation"},
            {
                "patch_import": "mindspeed.routes.checked_decorator",
                "condition": ["args.legacy"],
                "phase": 1,
                "collection": "MegatronAdaptation",
            },
        ]
    }
    old, new = both(tmp_path, "reapplied", patches)
    differs = [o != n for o, n in zip(old, new, strict=True)]
    assert differs == [False, True] or differs == [True, False]  # only when the second registration happened
    twice = next(o for o, n in zip(old, new, strict=True) if o != n)
    assert twice["calls"].count("log>") == 2 * next(n for o, n in zip(old, new, strict=True) if o != n)[
        "calls"
    ].count("log>")


def test_a_reapplied_patch_drops_another_collections_work_from_2_2_0(tmp_path: Path) -> None:
    # collection A wraps, collection B replaces, then A is registered on again. 2.1.0: A's wrappers go over B's
    # replacement. 2.2.0: A starts again from the original it kept, so B's replacement is lost.
    patches = {
        "megatron.core.ops.scale": [
            {"patch_import": "mindspeed.routes.log_wrapper", "phase": 0, "collection": "A"},
            {"patch_import": "mindspeed.routes.scale_a", "condition": ["args.b"], "phase": 1, "collection": "B"},
            {"patch_import": "mindspeed.routes.checked_decorator", "condition": ["args.c"], "phase": 2,
             "collection": "A"},
        ]
    }
    old, new = both(tmp_path, "between", patches)
    assert len({o["result"] for o in old}) == 4  # every combination of b and c differs in 2.1.0
    assert len({n["result"] for n in new}) == 3  # with c, b's replacement is gone in 2.2.0
    assert any("a" in o["calls"] for o in old) and sum("a" in n["calls"] for n in new) == 1


def test_a_wrapper_registered_again_in_a_later_phase_is_kept_once_from_2_2_0(tmp_path: Path) -> None:
    patches = {
        "megatron.core.ops.scale": [
            {"patch_import": "mindspeed.routes.log_wrapper", "phase": 0, "collection": "M"},
            {"patch_import": "mindspeed.routes.log_wrapper", "condition": ["args.again"], "phase": 1,
             "collection": "M", "force_patch": True},
        ]
    }
    old, new = both(tmp_path, "again", patches)
    # 2.1.0 with `again`: wrappers [log, log] over log(original) -> three logs; 2.2.0: one
    assert sorted(o["calls"].count("log>") for o in old) == [2, 6]
    assert sorted(n["calls"].count("log>") for n in new) == [2, 2]


TAGGED = {
    **FILES,
    "Megatron-LM/megatron/core/user.py": "from megatron.core.ops import scale\n",
    "MindSpeed/mindspeed/routes.py": ROUTES
    + """

def tag_wrapper(fn):
    def inner(x):
        LOG.append("tag>")
        return fn(x) + 100
    return inner
""",
}


def test_a_wrapper_kept_once_still_marks_its_patch_for_applying_again_in_2_2_0(tmp_path: Path) -> None:
    # 2.2.0's set_patch_func keeps a repeated wrapper once but still resets is_applied: the Patch is applied
    # again from its kept original, so collection B's replacement in between is lost
    patches = {
        "megatron.core.ops.scale": [
            {"patch_import": "mindspeed.routes.log_wrapper", "phase": 0, "collection": "A"},
            {"patch_import": "mindspeed.routes.scale_a", "phase": 1, "collection": "B"},
            {"patch_import": "mindspeed.routes.log_wrapper", "condition": ["args.c"], "phase": 2,
             "collection": "A"},
        ]
    }
    new = compare(tmp_path, Scenario("kept_once_2_2_0", TAGGED, patches, semantics="2.2.0"))
    assert sorted("a" in o["calls"] for o in new) == [False, True]  # with `c`, B's replacement is gone


def test_a_collection_applies_its_targets_in_the_order_it_first_got_them(tmp_path: Path) -> None:
    # one definition through two targets: `user.scale` reached collection A in phase 0, `ops.scale` only in
    # phase 1, so A's apply in phase 1 re-applies user.scale's Patch first, as its dict is ordered
    patches = {
        "megatron.core.ops.scale": [
            {"patch_import": "mindspeed.routes.tag_wrapper", "condition": ["args.t"], "phase": 1, "collection": "A"},
        ],
        "megatron.core.user.scale": [
            {"patch_import": "mindspeed.routes.log_wrapper", "phase": 0, "collection": "A"},
            {"patch_import": "mindspeed.routes.checked_decorator", "phase": 1, "collection": "A"},
        ],
    }
    for semantics in ("2.1.0", "2.2.0"):
        compare(tmp_path / semantics, Scenario(f"order_{semantics}", TAGGED, patches, semantics=semantics))
