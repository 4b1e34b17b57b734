"""Classification and fidelity notes of the planner, on small trees written by the tests."""

from pathlib import Path

import pytest

from patchmerge.formats import patch_set_from_mapping
from patchmerge.host import make_plugin_manager
from patchmerge.model import FusionKind
from patchmerge.plan import build_plan, create_plan_context
from patchmerge.profile import load_profile
from tests.conftest import write_tree


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "root",
        {
            "Megatron-LM/megatron/__init__.py": "",
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/model.py": """
                from dataclasses import dataclass

                def build(x):
                    return x

                class Block:
                    def forward(self, x):
                        return x

                class BigBlock(Block):
                    pass

                @dataclass
                class Config:
                    size: int = 1

                BlockImpl = Block
                build_impl = build
            """,
            "Megatron-LM/megatron/core/user.py": """
                from megatron.core.model import build as make_model
                from megatron.core.model import build
                from megatron.core.model import Block

                SPEC = dict(block=Block)
                BUILDERS = dict(build=build)
                make_default = build
            """,
            "Megatron-LM/megatron/core/reexport.py": "from megatron.core.model import build\n",
            "Megatron-LM/megatron/training/__init__.py": "",
            "Megatron-LM/megatron/training/utils.py": "def unwrap(m):\n    return m\n",
            "Megatron-LM/megatron/training/training.py": "from megatron.training.utils import unwrap\n",
            "Megatron-LM/megatron/training/checkpointing.py": "from megatron.training.utils import unwrap\n",
            "Megatron-LM/megatron/training/renamed.py": "from megatron.training.utils import unwrap as unwrap_model\n",
            "Megatron-LM/megatron/core/ops.py": "ops = None\n",
            "MindSpeed/mindspeed/__init__.py": "",
            "MindSpeed/mindspeed/aliasing.py": "from megatron.core.reexport import build as megatron_build\n",
            "MindSpeed/mindspeed/inheriting.py": """
                from megatron.core.model import Block as MegatronBlock

                class Block(MegatronBlock):
                    pass
            """,
            "MindSpeed/mindspeed/patches.py": """
                def build(x):
                    return x + 1

                def build_v2(x):
                    return x + 2

                def build_wrapper(fn):
                    return fn

                def unwrap_wrapper(fn):
                    return fn

                def new_helper():
                    return 1

                class Block:
                    pass

                def post_init_decorator(fn):
                    return fn
            """,
            "MindSpeed-LLM/mindspeed_llm/__init__.py": "",
        },
    )


def plan_for(root: Path, mapping: dict):
    profile = load_profile("example")
    pm = make_plugin_manager(profile, load_entry_points=False)
    patch_set = patch_set_from_mapping(mapping.items(), source=None, format="json")
    return build_plan(patch_set, create_plan_context(root, profile, pm))


def kinds(plan):
    return {pp.patch.id: (pp.kind.value if pp.kind else pp.reason) for pp in plan.patches}


def test_unconditional_replacement_and_wrapper(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.build": [
                {"patch_import": "mindspeed.patches.build"},
                {"patch_import": "mindspeed.patches.build_wrapper"},
            ]
        },
    )
    assert kinds(plan) == {"megatron.core.model.build#0": "replace", "megatron.core.model.build#1": "wrap"}


def test_conditional_replacements_route_and_overlap_note(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.build": [
                {"patch_import": "mindspeed.patches.build", "condition": ["args.a"]},
                {"patch_import": "mindspeed.patches.build_v2", "condition": ["args.b"]},
            ]
        },
    )
    assert set(kinds(plan).values()) == {"route"}
    assert any("may hold together" in n for n in plan.patches[0].notes)


def test_class_replacement_under_condition_is_class_route_without_subclass_note(root):
    plan = plan_for(
        root, {"megatron.core.model.Block": [{"patch_import": "mindspeed.patches.Block", "condition": ["args.a"]}]}
    )
    assert kinds(plan) == {"megatron.core.model.Block#0": "class-route"}
    # a fused class settles when the args are set, as the runtime patches it at adaptation: BigBlock, defined
    # at import time, keeps the original base in both, so there is nothing to warn about
    assert not any("subclasses" in n for n in plan.targets[0].notes + plan.patches[0].notes)


def test_new_function_and_conditional_new_note(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.helper": [{"patch_import": "mindspeed.patches.new_helper"}],
            "megatron.core.model.Block.extra": [
                {"patch_import": "mindspeed.patches.new_helper", "condition": ["args.a"]}
            ],
        },
    )
    assert kinds(plan)["megatron.core.model.helper#0"] == "new"
    conditional = plan.patches[1]
    assert any("does not exist when the condition is false" in n for n in conditional.notes)


def test_two_unconditional_replacements_without_force_patch_fail_the_target(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.build": [
                {"patch_import": "mindspeed.patches.build"},
                {"patch_import": "mindspeed.patches.build_v2"},
                {"patch_import": "mindspeed.patches.build_wrapper"},
            ]
        },
    )
    assert all(not pp.resolved for pp in plan.patches)
    assert "without force_patch" in plan.patches[2].reason


def test_force_patch_allows_a_second_replacement(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.build": [
                {"patch_import": "mindspeed.patches.build"},
                {"patch_import": "mindspeed.patches.build_v2", "force_patch": True},
            ]
        },
    )
    assert set(kinds(plan).values()) == {FusionKind.ROUTE.value}


def test_dataclass_member_and_renamed_alias_notes(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.Config.__init__": [{"patch_import": "mindspeed.patches.post_init_decorator"}],
            "megatron.core.model.build": [{"patch_import": "mindspeed.patches.build"}],
        },
    )
    assert kinds(plan)["megatron.core.model.Config.__init__#0"] == "wrap"
    assert any("the fusion defines it in the class" in n for n in plan.patches[0].notes)
    assert any("megatron.core.user as make_model" in n for n in plan.targets[1].notes)


def test_one_definition_through_two_targets_is_noted(root):
    plan = plan_for(
        root,
        {
            "megatron.training.checkpointing.unwrap": [{"patch_import": "mindspeed.patches.unwrap_wrapper"}],
            "megatron.training.training.unwrap": [{"patch_import": "mindspeed.patches.unwrap_wrapper"}],
        },
    )
    assert [tp.definition.module for tp in plan.targets] == ["megatron.training.utils"] * 2
    assert all(any("patches stack" in n for n in tp.notes) for tp in plan.targets)


def test_one_definition_under_two_names_is_not_stacked(root):
    plan = plan_for(
        root,
        {
            "megatron.training.checkpointing.unwrap": [{"patch_import": "mindspeed.patches.unwrap_wrapper"}],
            "megatron.training.renamed.unwrap_model": [{"patch_import": "mindspeed.patches.unwrap_wrapper"}],
        },
    )
    assert [tp.definition.module for tp in plan.targets] == ["megatron.training.utils"] * 2
    assert not any("patches stack" in n for tp in plan.targets for n in tp.notes)


def test_single_conditional_replacement_creating_a_name_is_new(root):
    patch = {"patch_import": "mindspeed.patches.new_helper", "condition": ["args.a"]}
    plan = plan_for(root, {"megatron.core.model.created": [patch]})
    assert kinds(plan) == {"megatron.core.model.created#0": "new"}
    assert any("does not exist when the condition is false" in n for n in plan.patches[0].notes)


def test_several_replacements_creating_a_name_are_routed(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.created": [
                {"patch_import": "mindspeed.patches.build", "condition": ["args.a"]},
                {"patch_import": "mindspeed.patches.build_v2", "condition": ["not args.a"]},
                {"patch_import": "mindspeed.patches.build_wrapper"},
            ]
        },
    )
    assert list(kinds(plan).values()) == ["route", "route", "wrap"]


def test_variable_replaced_by_a_class_is_a_class_route(root):
    plan = plan_for(
        root, {"megatron.core.ops.ops": [{"patch_import": "mindspeed.patches.Block", "condition": ["args.a"]}]}
    )
    assert plan.targets[0].definition.kind.value == "variable"
    assert kinds(plan) == {"megatron.core.ops.ops#0": "class-route"}


def test_duplicate_replacement_is_reported_even_when_one_patch_import_is_misspelt(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.build": [
                {"patch_import": "mindspeed.pathces.build", "patch_name": "build"},
                {"patch_import": "mindspeed.patches.build_v2"},
                {"patch_import": "mindspeed.patches.build_wrapper"},
            ]
        },
    )
    first, second, wrapper = plan.patches
    assert first.source is None and "patch_import does not resolve" in first.reason
    assert "runtime raises" in second.reason and "runtime raises" in wrapper.reason


def test_misspelt_wrapper_does_not_count_as_a_second_replacement(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.build": [
                {"patch_import": "mindspeed.patches.build"},
                {"patch_import": "mindspeed.pathces.build_wrapper", "patch_name": "build_wrapper"},
            ]
        },
    )
    assert kinds(plan)["megatron.core.model.build#0"] == "replace"
    assert "patch_import does not resolve" in plan.patches[1].reason


def test_alias_through_a_reexport_is_noted(root):
    plan = plan_for(root, {"megatron.core.model.build": [{"patch_import": "mindspeed.patches.build"}]})
    (note,) = [n for n in plan.targets[0].notes if n.startswith("imported under another name")]
    assert "megatron.core.user as make_model" in note and "mindspeed.aliasing as megatron_build" in note


def test_class_replacements_get_no_import_time_notes(root):
    # classes settle when the args are set, so the patch class inheriting the original under an alias, the
    # subclass BigBlock and `BlockImpl = Block` all see the original, at runtime and fused alike
    for patch in ("mindspeed.inheriting.Block", "mindspeed.patches.Block"):
        plan = plan_for(root, {"megatron.core.model.Block": [{"patch_import": patch}]})
        assert plan.targets[0].notes == []


def test_function_references_captured_at_import_time_in_other_modules_are_noted(root):
    plan = plan_for(root, {"megatron.core.model.build": [{"patch_import": "mindspeed.patches.build"}]})
    notes = plan.targets[0].notes
    assert any(
        n.startswith("`make_default = build` in megatron.core.user (line 7) captures it at import time") for n in notes
    ), notes
    assert any(
        n.startswith("used at import time by `BUILDERS = dict(...)` in megatron.core.user (line 6)") for n in notes
    )
    assert not any("build_impl" in n for n in notes)  # same module: it keeps the original in the fused tree too


def test_patch_import_that_the_plan_also_patches_is_noted(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.build": [{"patch_import": "mindspeed.patches.build"}],
            "mindspeed.patches.build": [{"patch_import": "mindspeed.patches.build_wrapper"}],
        },
    )
    replacement = plan.targets[0].patches[0]
    assert any("patch_import mindspeed.patches.build is itself patched by this plan" in n for n in replacement.notes)
    assert not any("itself patched" in n for n in plan.targets[1].patches[0].notes)


def test_exclusive_conditions():
    from patchmerge.plan.raises import exclusive

    assert exclusive(("args.a", "args.b"), ("not args.a",))
    assert exclusive(("args.mode == 'a'",), ("args.mode == 'b'",))
    assert exclusive(("args.mode == 'a'",), ("not args.mode == 'a'",))
    assert exclusive(("args.mode != 'a'",), ("args.mode == 'a'",))
    assert not exclusive(("args.a",), ("args.b",))
    assert not exclusive(("args.mode == 'a'",), ("args.other == 'b'",))


def test_no_overlap_note_for_exclusive_conditions_or_a_forced_later_patch(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.build": [
                {"patch_import": "mindspeed.patches.build", "condition": ["args.a"]},
                {"patch_import": "mindspeed.patches.build_v2", "condition": ["not args.a"]},
            ],
            "megatron.training.utils.unwrap": [
                {"patch_import": "mindspeed.patches.build", "condition": ["args.a"]},
                {"patch_import": "mindspeed.patches.build_v2", "condition": ["args.b"], "force_patch": True},
            ],
        },
    )
    assert not any("may hold together" in n for pp in plan.patches for n in pp.notes)


def test_a_patch_import_patched_before_and_after_the_registrations_phase_fails_its_target(root):
    # the runtime registers build_v2 as phase 0 left it; phase 2 patches it again: no fused binding holds that
    mapping = {
        "mindspeed.patches.build_v2": [
            {"patch_import": "mindspeed.patches.build_wrapper", "phase": 0},
            {"patch_import": "mindspeed.patches.unwrap_wrapper", "phase": 2},
        ],
        "megatron.core.model.build": [{"patch_import": "mindspeed.patches.build_v2", "phase": 1}],
    }
    reasons = {pp.patch.id: pp.reason for pp in plan_for(root, mapping).patches}
    assert "patched in phases before and after this registration's phase 1" in reasons["megatron.core.model.build#0"]
    assert reasons["mindspeed.patches.build_v2#0"] is None
    mapping["mindspeed.patches.build_v2"].pop()  # patched only before: the fused name is what it registers
    assert all(pp.reason is None for pp in plan_for(root, mapping).patches)


def test_a_collections_second_replacement_is_noted_where_the_runtime_raises(root):
    plan = plan_for(
        root,
        {
            "megatron.core.model.build": [
                {"patch_import": "mindspeed.patches.build", "condition": ["args.a"], "phase": 0, "collection": "M"},
                {"patch_import": "mindspeed.patches.build_v2", "condition": ["args.b"], "phase": 0, "collection": "M"},
                {"patch_import": "mindspeed.patches.build", "condition": ["not args.b"], "phase": 0,
                 "collection": "M"},
            ]
        },
    )
    notes = {pp.patch.id: " ".join(pp.notes) for pp in plan.patches}
    raises = "raises RuntimeError('the patch of build exist !')"
    assert raises in notes["megatron.core.model.build#1"] and "after megatron.core.model.build#0" in notes[
        "megatron.core.model.build#1"]
    # #2 cannot hold with #1 (not args.b), only with #0
    assert "#2 (no force_patch) is registered after megatron.core.model.build#0 on" in notes[
        "megatron.core.model.build#2"]
    assert not any("may hold together" in n for n in notes.values())
