import dataclasses
import json

import pytest

from patchmerge.errors import PatchFileError
from patchmerge.formats.json_format import dumps
from patchmerge.host import make_plugin_manager
from patchmerge.loading import load_patch_file
from patchmerge.model import Patch
from patchmerge.profile import load_profile
from tests.conftest import REAL_PATCH_JSON, needs_real_patch_json


@pytest.fixture
def load():
    profile = load_profile("example")
    pm = make_plugin_manager(profile, load_entry_points=False)
    return lambda path: load_patch_file(path, pm, profile)


@needs_real_patch_json
def test_real_json_has_196_targets_and_241_patches_in_order(load):
    patch_set = load(REAL_PATCH_JSON)
    assert len(patch_set.targets) == 196
    assert len(patch_set) == 241
    raw = json.loads(REAL_PATCH_JSON.read_text())
    assert list(patch_set.raw_keys.values()) == list(raw)
    post_init = patch_set.targets["megatron.core.transformer.transformer_config.TransformerConfig.__post_init__"]
    assert [p.patch_name for p in post_init] == [
        "transformer_config_post_init",
        "transformer_config_post_init_wrapper",
        "transformer_config_post_init_mtp_wrapper",
        "transformer_config_post_init",
    ]
    assert [p.index for p in post_init] == [0, 1, 2, 3]
    assert post_init[0].condition == ("args.tp_2d",)
    assert post_init[0].id == "megatron.core.transformer.transformer_config.TransformerConfig.__post_init__#0"
    qlora = [p for p in patch_set.patches if p.condition_import]
    assert len(qlora) == 13
    assert all(p.condition_import == ("mindspeed_llm.tasks.posttrain.lora.utils.is_enable_qlora",) for p in qlora)


@needs_real_patch_json
def test_round_trip_keeps_keys_order_and_fields(load, write_json):
    patch_set = load(REAL_PATCH_JSON)
    again = load(write_json(dumps(patch_set, patch_set.patches), "again.json"))
    assert again.patches == patch_set.patches
    assert again.raw_keys == patch_set.raw_keys


def test_condition_forms(load, write_json):
    path = write_json(
        {
            "a.b.f": [
                {"patch_import": "x.y.f", "condition": []},
                {"patch_import": "x.y.g", "condition": False},
                {"patch_import": "x.y.h"},
                {"patch_import": "x.y.k", "condition": ["args.a", "not args.b"], "force_patch": True, "phase": 2},
            ]
        }
    )
    patches = load(path).targets["a.b.f"]
    assert [p.condition for p in patches] == [(), (), (), ("args.a", "not args.b")]
    assert patches[2].patch_name == "h"
    assert patches[3].force_patch and patches[3].phase == 2


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"patch_import": "x.y.f", "condition": ["import os"]}, r"a\.b\.f#0: condition 0 'import os' is a statement"),
        ({"patch_import": "x.y.f", "condition": ["args.x", "lambda: 1"]}, r"a\.b\.f#0: condition 1 .* lambda"),
        ({"patch_import": "x.y.f", "condition": ["args.x = 1"]}, r"a\.b\.f#0: condition 0 .* statement"),
        ({"patch_import": "x.y.f", "condition": ["args.x )"]}, r"a\.b\.f#0: condition 0 .* not valid Python"),
        ({"patch_import": "x.y.f", "condition": "args.x"}, r"a\.b\.f#0: 'condition' must be a list"),
        ({"patch_import": "x.y.f", "conditon": []}, r"unknown key 'conditon' \(did you mean 'condition'\?\)"),
        ({"patch_import": "not dotted"}, r"'patch_import' must be a dotted name"),
        ({"patch_import": "x.y.f", "force_patch": "yes"}, r"'force_patch' must be true or false"),
        ({"patch_import": "x.y.f", "condition_import": "x.y"}, r"'condition_import' must be a list"),
        ("x.y.f", r"must be an object"),
    ],
)
def test_bad_patches_are_rejected_naming_target_and_index(load, write_json, record, message):
    with pytest.raises(PatchFileError, match=message):
        load(write_json({"a.b.f": [record]}))


def test_malformed_json_names_file_and_position(load, write_json):
    path = write_json('{"a.b.f": [ {"patch_import": "x.y"} ')
    with pytest.raises(PatchFileError) as info:
        load(path)
    assert str(path) in str(info.value) and "malformed JSON at line 1" in str(info.value)


def test_same_target_twice_is_an_error_not_a_silent_overwrite(load, write_json):
    path = write_json('{"\'a.b.f\'": [{"patch_import": "x.y.f"}], "a.b.f": [{"patch_import": "x.y.g"}]}')
    with pytest.raises(PatchFileError, match="target 'a.b.f' appears twice"):
        load(path)


def test_not_an_object_and_missing_file(load, write_json, tmp_path):
    with pytest.raises(PatchFileError, match="must be an object"):
        load(write_json("[1, 2]"))
    with pytest.raises(PatchFileError, match="patch file not found"):
        load(tmp_path / "nope.json")
    with pytest.raises(PatchFileError, match="not a dotted name"):
        load(write_json({"nodots": []}))


def test_deeply_nested_json_is_a_patch_file_error(load, write_json):
    path = write_json('{"a.b.f": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(PatchFileError, match="nested too deeply"):
        load(path)


def test_patch_keeps_only_the_fields_the_format_defines():
    # no unused catch-all: unknown keys are rejected by the reader, so nothing needs keeping
    names = [f.name for f in dataclasses.fields(Patch)]
    assert names == ["target", "index", "patch_import", "patch_name", "condition", "condition_import",
                     "force_patch", "phase", "collection"]


def test_collection_is_read_checked_and_written_back(load, write_json):
    path = write_json('{"a.b.f": [{"patch_import": "m.f_wrapper", "phase": 1, "collection": "MegatronAdaptation"}]}')
    patch_set = load(path)
    assert patch_set.patches[0].collection == "MegatronAdaptation"
    assert '"collection": "MegatronAdaptation"' in dumps(patch_set, patch_set.patches)
    bad = write_json('{"a.b.f": [{"patch_import": "m.f", "collection": 3}]}')
    with pytest.raises(PatchFileError, match="'collection' must be a non-empty string"):
        load(bad)


def test_one_phase_names_one_collection(load, write_json):
    path = write_json(
        '{"a.b.f": [{"patch_import": "m.f_wrapper", "phase": 0, "collection": "A"}],'
        ' "a.b.g": [{"patch_import": "m.g_wrapper", "phase": 0}]}'
    )
    with pytest.raises(PatchFileError, match=r"a\.b\.f#0 and a\.b\.g#0 are both in phase 0"):
        load(path)
