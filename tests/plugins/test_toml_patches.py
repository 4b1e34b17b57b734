"""The TOML patch-format plugin: the model third-party plugin, used through the installed entry point."""

import json

import pytest

from patchmerge.errors import PatchFileError
from patchmerge.host import make_plugin_manager
from patchmerge.loading import load_patch_file, write_patch_file
from patchmerge.profile import load_profile

TOML = """
[[patch]]
target = "megatron.core.layers.forward"
patch_import = "mindspeed.layers.forward"
condition = ["args.fast"]

[[patch]]
target = "megatron.core.layers.Linear.forward"
patch_import = "mindspeed.layers.forward_wrapper"

[[patch]]
target = "megatron.core.layers.forward"
patch_import = "mindspeed.layers.forward_wrapper"
force_patch = true
"""


@pytest.fixture
def pm_profile():
    profile = load_profile("example")
    return make_plugin_manager(profile), profile


def test_toml_list_loads_grouped_by_target_in_file_order(tmp_path, pm_profile):
    pm, profile = pm_profile
    path = tmp_path / "patches.toml"
    path.write_text(TOML)
    patch_set = load_patch_file(path, pm, profile)
    assert patch_set.format == "toml"
    assert list(patch_set.targets) == ["megatron.core.layers.forward", "megatron.core.layers.Linear.forward"]
    forward = patch_set.targets["megatron.core.layers.forward"]
    assert [(p.index, p.patch_import, p.condition, p.force_patch) for p in forward] == [
        (0, "mindspeed.layers.forward", ("args.fast",), False),
        (1, "mindspeed.layers.forward_wrapper", (), True),
    ]


def test_written_back_as_toml_and_reloads_equal(tmp_path, pm_profile):
    pm, profile = pm_profile
    path = tmp_path / "patches.toml"
    path.write_text(TOML)
    patch_set = load_patch_file(path, pm, profile)
    out = tmp_path / "out" / "unresolved.toml"
    write_patch_file(patch_set, patch_set.patches[:2], out, pm)
    again = load_patch_file(out, pm, profile)
    assert again.patches == patch_set.patches[:2]


def test_shared_validation_applies_to_toml(tmp_path, pm_profile):
    pm, profile = pm_profile
    path = tmp_path / "bad.toml"
    path.write_text('[[patch]]\ntarget = "a.b.f"\npatch_import = "x.y.f"\ncondition = ["import os"]\n')
    with pytest.raises(PatchFileError, match=r"a\.b\.f#0: condition 0 'import os' is a statement"):
        load_patch_file(path, pm, profile)
    path.write_text("[[patch]\n")
    with pytest.raises(PatchFileError, match="malformed TOML"):
        load_patch_file(path, pm, profile)


def test_json_still_read_by_the_builtin_when_the_plugin_is_installed(tmp_path, pm_profile):
    pm, profile = pm_profile
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"a.b.f": [{"patch_import": "x.y.f"}]}))
    assert load_patch_file(path, pm, profile).format == "json"


def test_deeply_nested_toml_is_a_patch_file_error(tmp_path, pm_profile):
    pm, profile = pm_profile
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(PatchFileError, match="nested too deeply"):
        load_patch_file(path, pm, profile)
