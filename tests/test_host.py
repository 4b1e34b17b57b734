import textwrap
from importlib.metadata import entry_points

import pytest

from patchmerge.formats import patch_set_from_mapping
from patchmerge.host import PluginError, make_plugin_manager
from patchmerge.plan import build_plan, create_plan_context
from patchmerge.profile import load_profile, profile_from_dict

BASE = {"name": "t", "sources": {"roots": ["A"], "rewritable": ["a"]}}


def test_builtins_are_plugins_through_the_same_hooks():
    pm = make_plugin_manager(None, load_entry_points=False)
    names = {pm.get_name(p) for p in pm.get_plugins()}
    assert "patchmerge.formats.json_format" in names
    assert "patchmerge.plan.static_resolution" in names


def test_installed_entry_point_plugin_is_discovered():
    # the TOML patch-format plugin in plugins/ is installed by the test session
    assert any(ep.name == "toml-patches" for ep in entry_points(group="patchmerge")), "install plugins/*"
    pm = make_plugin_manager(None)
    assert pm.has_plugin("toml-patches")


def test_patchmerge_plugins_env_selects_entry_points(monkeypatch):
    monkeypatch.setenv("PATCHMERGE_PLUGINS", "")
    assert not make_plugin_manager(None).has_plugin("toml-patches")
    monkeypatch.setenv("PATCHMERGE_PLUGINS", "toml-patches")
    assert make_plugin_manager(None).has_plugin("toml-patches")
    monkeypatch.setenv("PATCHMERGE_PLUGINS", "no-such-plugin")
    with pytest.raises(PluginError, match="no-such-plugin"):
        make_plugin_manager(None)


def test_profile_listed_plugin_file_is_registered_and_called(tmp_path, mini_root):
    plugin = tmp_path / "notes_plugin.py"
    plugin.write_text(
        textwrap.dedent(
            """
            from patchmerge import hookimpl

            @hookimpl
            def plan_notes(target_plan, context):
                return ["from the profile plugin"]
            """
        )
    )
    profile_path = tmp_path / "p.toml"
    profile_path.write_text(
        'name = "t"\nplugins = ["notes_plugin.py"]\n[sources]\n'
        'roots = ["Megatron-LM", "MindSpeed"]\nrewritable = ["megatron", "mindspeed"]\n'
    )
    profile = load_profile(profile_path)
    pm = make_plugin_manager(profile, load_entry_points=False)
    patch_set = patch_set_from_mapping(
        [("megatron.core.layers.forward", [{"patch_import": "mindspeed.layers.forward"}])], source=None, format="json"
    )
    plan = build_plan(patch_set, create_plan_context(mini_root, profile, pm))
    assert "from the profile plugin" in plan.targets[0].notes


def test_profile_listed_module_plugin(tmp_path, monkeypatch):
    (tmp_path / "my_team_plugin.py").write_text("from patchmerge import hookimpl\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = make_plugin_manager(profile_from_dict({**BASE, "plugins": ["my_team_plugin"]}), load_entry_points=False)
    assert pm.has_plugin("profile:my_team_plugin")


def test_bad_profile_plugins_are_clear_errors(tmp_path):
    with pytest.raises(PluginError, match="'no_such_module_xyz' listed in 'plugins' cannot be imported"):
        make_plugin_manager(profile_from_dict({**BASE, "plugins": ["no_such_module_xyz"]}), load_entry_points=False)
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    profile_path = tmp_path / "p.toml"
    profile_path.write_text('name = "t"\nplugins = ["broken.py"]\n[sources]\nroots = ["A"]\nrewritable = ["a"]\n')
    with pytest.raises(PluginError, match="broken.py failed to import: RuntimeError: boom"):
        make_plugin_manager(load_profile(profile_path), load_entry_points=False)


def test_misspelt_hook_is_caught(tmp_path):
    (tmp_path / "typo.py").write_text(
        "from patchmerge import hookimpl\n@hookimpl\ndef load_patchez(path):\n    return None\n"
    )
    profile_path = tmp_path / "p.toml"
    profile_path.write_text('name = "t"\nplugins = ["typo.py"]\n[sources]\nroots = ["A"]\nrewritable = ["a"]\n')
    with pytest.raises(PluginError, match="load_patchez"):
        make_plugin_manager(load_profile(profile_path), load_entry_points=False)


def test_module_plugin_that_raises_on_import_is_named(tmp_path, monkeypatch):
    (tmp_path / "exploding_team_plugin.py").write_text("raise KeyError('no config')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    profile = profile_from_dict({**BASE, "plugins": ["exploding_team_plugin"]})
    with pytest.raises(PluginError, match="'exploding_team_plugin' listed in 'plugins' failed to import: KeyError"):
        make_plugin_manager(profile, load_entry_points=False)


def _install_fake_distribution(tmp_path, monkeypatch, module_source: str) -> None:
    """A distribution on sys.path that declares a `patchmerge` entry point `broken-ep`."""
    info = tmp_path / "broken_ep_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-ep-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[patchmerge]\nbroken-ep = broken_ep_plugin_module\n")
    (tmp_path / "broken_ep_plugin_module.py").write_text(module_source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("PATCHMERGE_PLUGINS", raising=False)


def test_entry_point_that_fails_to_load_is_named(tmp_path, monkeypatch):
    _install_fake_distribution(tmp_path, monkeypatch, "raise RuntimeError('half installed')\n")
    with pytest.raises(PluginError, match="entry-point plugin 'broken-ep'.*failed to load: RuntimeError: half"):
        make_plugin_manager(None)


def test_entry_point_with_an_invalid_hook_is_named(tmp_path, monkeypatch):
    source = "from patchmerge import hookimpl\n@hookimpl\ndef load_patches(path, text, bogus_argument):\n    pass\n"
    _install_fake_distribution(tmp_path, monkeypatch, source)
    with pytest.raises(PluginError, match="entry-point plugin 'broken-ep'.*cannot be registered"):
        make_plugin_manager(None)
