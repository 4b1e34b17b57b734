"""The MindSpeed-LLM fixup plugin: reset_patch / reset_patch_v2 tolerate targets whose registrations are gone."""

from __future__ import annotations

import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pluggy
import pytest

from patchmerge.errors import ProfileError
from patchmerge.hookspecs import PROJECT
from patchmerge.profile import Sources, load_profile, plugin_section

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugins" / "patchmerge-mindspeed-llm"
try:  # installed on its own, or straight from the source tree
    import patchmerge_mindspeed_llm
except ImportError:
    sys.path.insert(0, str(PLUGIN_DIR))
    import patchmerge_mindspeed_llm

from patchmerge_mindspeed_llm.reset_patch import GUARD_COMMENT, guard_reset_patch  # noqa: E402

UTILS = Path("MindSpeed-LLM/mindspeed_llm/mindspore/utils.py")

# fixture text in the shape of the real helpers (written for these tests)
SOURCE = textwrap.dedent(
    '''\
    import inspect

    from mindspeed_llm.tasks.megatron_adaptor import MegatronAdaptation


    def clear_wrapper(original_func_name, target_func):
        reset_patch(original_func_name)
        return inspect.unwrap(target_func)


    def reset_patch(original_func_name):
        \'\'\'clear the wrapper info in Patch object\'\'\'
        target_patch = MegatronAdaptation._patch_info_collection[original_func_name]
        target_patch.wrappers = []


    def reset_patch_v2(original_func_name):
        """newer trees keep the Patch objects on the manager"""

        # comment kept above the lookup
        target_patch = PatchesManager.patches_info[original_func_name]
        target_patch.wrappers = []


    def other(name):
        return MegatronAdaptation._patch_info_collection[name]
    '''
)


class _Spec:
    """A copy of the hookspec the host declares, so the plugin can be exercised through pluggy."""

    hookspec = pluggy.HookspecMarker(PROJECT)

    @hookspec
    def post_merge_fixup(self, files, root, profile):  # pragma: no cover - a spec has no body
        ...

    @hookspec
    def profile_sections(self):  # pragma: no cover - a spec has no body
        ...


@pytest.fixture
def hook():
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(_Spec)
    pm.register(patchmerge_mindspeed_llm)
    pm.check_pending()
    return pm.hook.post_merge_fixup


def run_function(source: str, name: str, namespace: dict) -> object:
    exec(compile(source, "utils.py", "exec"), namespace)
    return namespace[name]


def test_lookup_guarded_after_the_docstring_rest_byte_identical():
    new = guard_reset_patch(SOURCE)
    assert (
        "def reset_patch(original_func_name):\n"
        "    '''clear the wrapper info in Patch object'''\n"
        f"    {GUARD_COMMENT}\n"
        "    if original_func_name not in MegatronAdaptation._patch_info_collection:\n"
        "        return\n"
        "    target_patch = MegatronAdaptation._patch_info_collection[original_func_name]\n"
    ) in new
    assert (
        '    """newer trees keep the Patch objects on the manager"""\n'
        "\n"
        "    # comment kept above the lookup\n"
        f"    {GUARD_COMMENT}\n"
        "    if original_func_name not in PatchesManager.patches_info:\n"
        "        return\n"
        "    target_patch = PatchesManager.patches_info[original_func_name]\n"
    ) in new
    # only the inserted lines differ
    added = new.splitlines(keepends=True)
    for line in SOURCE.splitlines(keepends=True):
        added.remove(line)
    assert len(added) == 6
    assert "def other(name):\n    return MegatronAdaptation._patch_info_collection[name]\n" in new
    compile(new, "utils.py", "exec")


def test_idempotent_and_hand_written_guards_respected():
    once = guard_reset_patch(SOURCE)
    assert guard_reset_patch(once) == once
    wrapped = textwrap.dedent(
        """\
        def reset_patch(original_func_name):
            if original_func_name in MegatronAdaptation._patch_info_collection:
                target_patch = MegatronAdaptation._patch_info_collection[original_func_name]
                target_patch.wrappers = []
        """
    )
    assert guard_reset_patch(wrapped) == wrapped


@pytest.mark.parametrize("name", ["reset_patch", "reset_patch_v2"])
def test_behaviour_missing_key_returns_none_present_key_clears(name, monkeypatch):
    patch = SimpleNamespace(wrappers=["w1", "w2"])
    collection = {"megatron.a.f": patch}
    # the module's own import must find a MegatronAdaptation: stand-in modules
    adaptor = ModuleType("mindspeed_llm.tasks.megatron_adaptor")
    adaptor.MegatronAdaptation = SimpleNamespace(_patch_info_collection=collection)
    for dotted in ("mindspeed_llm", "mindspeed_llm.tasks"):
        monkeypatch.setitem(sys.modules, dotted, ModuleType(dotted))
    monkeypatch.setitem(sys.modules, adaptor.__name__, adaptor)
    namespace = {"PatchesManager": SimpleNamespace(patches_info=collection)}

    function = run_function(guard_reset_patch(SOURCE), name, dict(namespace))
    assert function("megatron.not.registered") is None
    assert patch.wrappers == ["w1", "w2"]
    assert function("megatron.a.f") is None
    assert patch.wrappers == []
    # the original raised where the fixed one returns
    with pytest.raises(KeyError):
        run_function(SOURCE, name, dict(namespace))("megatron.not.registered")


def test_method_with_collection_parameter():
    source = textwrap.dedent(
        """\
        class Helper:
            def reset_patch(self, aspm, original_func_name):
                target_patch = aspm.patches_info[original_func_name]
                target_patch.wrappers = []
        """
    )
    new = guard_reset_patch(source)
    assert "        if original_func_name not in aspm.patches_info:\n            return\n" in new
    helper = run_function(new, "Helper", {})()
    assert helper.reset_patch(SimpleNamespace(patches_info={}), "missing") is None


def test_no_function_or_no_lookup_is_a_no_op():
    assert guard_reset_patch("def clear_wrapper(name):\n    pass\n") == "def clear_wrapper(name):\n    pass\n"
    unrelated = "def reset_patch(name):\n    cache[name] = 1\n    return other.get(name)\n"
    assert guard_reset_patch(unrelated) == unrelated


def test_hook_rewrites_the_merged_text(hook, tmp_path):
    profile = load_profile("example")
    (result,) = hook(files={UTILS: SOURCE}, root=tmp_path, profile=profile)
    assert list(result) == [UTILS]
    assert result[UTILS] == guard_reset_patch(SOURCE)
    # already fixed: nothing to report
    assert hook(files={UTILS: result[UTILS]}, root=tmp_path, profile=profile) == []


def test_hook_reads_the_file_from_root_when_the_merge_did_not_touch_it(hook, tmp_path):
    path = tmp_path / UTILS
    path.parent.mkdir(parents=True)
    path.write_text(SOURCE, encoding="utf-8")
    (result,) = hook(files={}, root=tmp_path, profile=load_profile("example"))
    assert result == {UTILS: guard_reset_patch(SOURCE)}
    assert path.read_text(encoding="utf-8") == SOURCE  # the hook returns texts; the host writes


def test_hook_no_op_when_file_or_function_missing(hook, tmp_path):
    assert hook(files={}, root=tmp_path, profile=load_profile("example")) == []
    plain = "def clear_wrapper(name):\n    pass\n"
    assert hook(files={UTILS: plain}, root=tmp_path, profile=load_profile("example")) == []


def test_hook_skips_a_file_that_does_not_parse(hook, tmp_path):
    assert hook(files={UTILS: "def reset_patch(:\n"}, root=tmp_path, profile=load_profile("example")) == []


def test_profile_roots_choose_where_utils_is_looked_for():
    profile = replace(load_profile("example"), sources=Sources(roots=("Megatron-LM", "llm"), rewritable=("x",)))
    candidates = patchmerge_mindspeed_llm.utils_candidates(profile)
    assert candidates == [
        Path("Megatron-LM/mindspeed_llm/mindspore/utils.py"),
        Path("llm/mindspeed_llm/mindspore/utils.py"),
    ]


def test_plugin_validates_against_the_hosts_hookspec(tmp_path):
    from patchmerge import hookspecs

    if not hasattr(hookspecs, "post_merge_fixup"):
        pytest.skip("host does not declare post_merge_fixup yet")
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(patchmerge_mindspeed_llm, name="mindspeed-llm")
    pm.check_pending()
    assert pm.hook.post_merge_fixup(files={UTILS: SOURCE}, root=tmp_path, profile=load_profile("example")) == [
        {UTILS: guard_reset_patch(SOURCE)}
    ]


def _profile_with(tmp_path: Path, table: str) -> Path:
    text = (Path(__file__).resolve().parents[2] / "configs" / "example.toml").read_text()
    path = tmp_path / "p.toml"
    path.write_text(text + "\n[mindspeed_llm]\n" + table)
    return path


def test_the_profile_table_says_which_files_hold_reset_patch(tmp_path):
    from patchmerge.host import make_plugin_manager

    profile = load_profile(_profile_with(tmp_path, 'reset_patch_files = ["mindspeed_llm/ms/utils.py"]\n'))
    make_plugin_manager(profile)  # the table is checked as the plugins load
    settings = plugin_section(profile, "mindspeed_llm", patchmerge_mindspeed_llm.Settings)
    assert settings.reset_patch_files == ("mindspeed_llm/ms/utils.py",)
    assert Path("MindSpeed-LLM/mindspeed_llm/ms/utils.py") in patchmerge_mindspeed_llm.utils_candidates(profile)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('reset_patch_files = "utils.py"\n', r"'mindspeed_llm\.reset_patch_files' must be a list of strings"),
        ('reset_patch_file = ["utils.py"]\n', r"unknown key 'mindspeed_llm\.reset_patch_file' \(did you mean"),
        ('reset_patch_files = ["../x.py"]\n', r"item '\.\./x\.py' must be a \.py file inside a source root"),
    ],
)
def test_a_wrong_table_is_an_error_naming_the_key(tmp_path, table, message):
    from patchmerge.host import make_plugin_manager

    profile = load_profile(_profile_with(tmp_path, table))
    with pytest.raises(ProfileError, match=message) as info:
        make_plugin_manager(profile)
    assert "p.toml" in str(info.value)
