import re
import tomllib
from dataclasses import fields

import pytest

from patchmerge import bundled
from patchmerge.errors import ProfileError
from patchmerge.profile import _SECTIONS, find_profile, load_profile, profile_from_dict, section_types


def test_bundled_profiles_load():
    real = load_profile("mindspeed-llm-core-r0.8.0")
    assert real.sources.roots == ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")
    assert real.sources.rewritable == ("megatron", "mindspeed", "mindspeed_llm")
    assert "MegatronAdaptation.register" in real.registrations.calls
    assert real.runtime.args_accessor == "megatron.training.get_args"
    example = load_profile("example")
    assert example.patch_json == "patches.json"
    assert find_profile("example") == bundled.configs_dir() / "example.toml"


def _write(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


MINIMAL = 'name = "t"\n[sources]\nroots = ["A"]\nrewritable = ["a"]\n'


def test_minimal_profile_gets_defaults(tmp_path):
    profile = load_profile(_write(tmp_path, MINIMAL))
    assert profile.name == "t"
    assert profile.runtime.wrapper_suffixes == ("wrapper", "decorator")
    assert profile.check.timeout == 3600.0


def test_unknown_top_level_key_names_key_and_file(tmp_path):
    path = _write(tmp_path, MINIMAL.replace('name = "t"', 'name = "t"\npach_json = "x"'))
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert "unknown key 'pach_json'" in str(info.value)
    assert "did you mean 'patch_json'" in str(info.value)
    assert str(path) in str(info.value)


def test_unknown_section_key_is_named_with_its_section(tmp_path):
    with pytest.raises(ProfileError, match=r"unknown key 'runtime\.args_acessor'"):
        load_profile(_write(tmp_path, MINIMAL + '[runtime]\nargs_acessor = "x"\n'))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[check]\ntimeout = "long"\n', "'check.timeout' must be float"),
        ("[probes]\nenabled = 1\n", "'probes.enabled' must be bool"),
        ("[bisect]\njobs = true\n", "'bisect.jobs' must be int"),
        ('plugins = "x"\n', "'plugins' must be a list of strings"),
    ],
)
def test_wrong_types_name_the_key(tmp_path, extra, message):
    text = extra + MINIMAL if not extra.startswith("[") else MINIMAL + extra
    with pytest.raises(ProfileError, match=message):
        load_profile(_write(tmp_path, text))


def test_missing_required_key(tmp_path):
    with pytest.raises(ProfileError, match="missing required key 'sources.rewritable'"):
        load_profile(_write(tmp_path, 'name = "t"\n[sources]\nroots = ["A"]\n'))


def test_all_missing_required_keys_are_reported_at_once_in_order(tmp_path):
    with pytest.raises(ProfileError, match="missing required keys 'name', 'sources.roots', 'sources.rewritable'"):
        load_profile(_write(tmp_path, 'description = "d"\n'))


@pytest.mark.parametrize("text", ["sources = [1]\n", 'sources = "A"\n', "runtime = 3\n"])
def test_a_section_that_is_not_a_table_says_so(tmp_path, text):
    section = text.split(" ")[0]
    with pytest.raises(ProfileError, match=f"'{section}' must be a table"):
        profile_from_dict(tomllib.loads('name = "t"\n' + text))


def test_unknown_runtime_semantics_names_the_allowed_values(tmp_path):
    with pytest.raises(ProfileError, match=r"'runtime.semantics' must be one of '2.1.0', '2.2.0', got '2.3'"):
        load_profile(_write(tmp_path, MINIMAL + '[runtime]\nsemantics = "2.3"\n'))
    profile = load_profile(_write(tmp_path, MINIMAL + '[runtime]\nsemantics = "2.2.0"\n'))
    assert profile.runtime.semantics == "2.2.0"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('name = "t"\n[sources]\nroots = []\nrewritable = ["a"]\n', "sources.roots"),
        ('name = "t"\n[sources]\nroots = ["A"]\nrewritable = []\n', "sources.rewritable"),
        (MINIMAL + "[runtime]\nwrapper_suffixes = []\n", "runtime.wrapper_suffixes"),
        (MINIMAL + '[runtime]\nwrapper_suffixes = ["wrapper", ""]\n', "runtime.wrapper_suffixes"),
    ],
)
def test_empty_lists_that_make_no_sense_are_rejected(tmp_path, text, key):
    with pytest.raises(ProfileError, match=f"'{key}' must not be empty"):
        load_profile(_write(tmp_path, text))


def test_every_section_field_is_a_key_of_the_type_its_annotation_says():
    for name, cls in _SECTIONS.items():
        assert set(section_types(cls)) == {f.name for f in fields(cls)}, name
    assert section_types(_SECTIONS["check"])["timeout"] is float
    assert section_types(_SECTIONS["check"])["log_files"] is tuple


def test_a_section_field_of_a_type_toml_cannot_give_is_a_programming_error():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Odd:
        limits: dict[str, int]

    with pytest.raises(TypeError, match=r"Odd\.limits: a profile key is str, int, float, bool or tuple"):
        section_types(Odd)


def test_non_utf8_profile_and_folder_profile_are_clear_errors(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ProfileError, match="not UTF-8 text"):
        load_profile(path)
    folder = tmp_path / "configs"
    folder.mkdir()
    with pytest.raises(ProfileError, match="is a folder"):
        load_profile(folder)
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(ProfileError, match="is a folder"):
        load_profile(str(tmp_path / "dir.toml"))


def test_malformed_toml_and_unknown_name(tmp_path):
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(_write(tmp_path, "name = \n"))
    with pytest.raises(ProfileError, match="no profile named 'nope'; bundled profiles: .*example"):
        load_profile("nope")


def test_unknown_probe_format_is_rejected(tmp_path):
    with pytest.raises(ProfileError, match="'probes.format' must be one of 'json-line', got 'xml'"):
        load_profile(_write(tmp_path, MINIMAL + '[probes]\nformat = "xml"\n'))


def test_collect_section(tmp_path):
    text = MINIMAL + (
        '[collect]\nentry = ["A/a/x.py::C.run", "A/a/y.py"]\napply_calls = ["C.apply"]\n'
        'args_spellings = ["C.get_args()", "args"]\nkeep_outside = true\ndirect_assignments = true\n'
    )
    profile = load_profile(_write(tmp_path, text))
    assert profile.collect.entry == ("A/a/x.py::C.run", "A/a/y.py")
    assert profile.collect.keep_outside and profile.collect.direct_assignments
    assert load_profile(_write(tmp_path, MINIMAL)).collect.entry == ()
    with pytest.raises(ProfileError, match="collect.entyr"):
        load_profile(_write(tmp_path, MINIMAL + '[collect]\nentyr = ["x.py"]\n'))
    with pytest.raises(ProfileError, match="collect.entry"):
        load_profile(_write(tmp_path, MINIMAL + '[collect]\nentry = ["x.py::not valid"]\n'))
    real = load_profile("mindspeed-llm-core-r0.8.0")
    assert real.collect.entry and "MegatronAdaptation.apply" in real.collect.apply_calls
    assert load_profile("mindspeed-llm-26.1.0-core-r0.12.1").runtime.semantics == "2.2.0"


def test_conditions_section_widens_the_builtins_a_condition_may_read(tmp_path):
    profile = load_profile(_write(tmp_path, MINIMAL + '[conditions]\nallowed_names = ["sum", "divmod"]\n'))
    assert profile.conditions.allowed_names == ("sum", "divmod")
    assert load_profile(_write(tmp_path, MINIMAL)).conditions.allowed_names == ()
    with pytest.raises(ProfileError, match=r"unknown key 'conditions\.allowed' \(did you mean 'allowed_names'\?\)"):
        load_profile(_write(tmp_path, MINIMAL + '[conditions]\nallowed = ["sum"]\n'))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("sortd", "'conditions.allowed_names' item 'sortd' is not a Python builtin"),
        ("__import__", "'conditions.allowed_names' item '__import__' reaches the interpreter's internals"),
    ],
)
def test_allowed_names_must_be_builtins(tmp_path, name, message):
    path = _write(tmp_path, MINIMAL + f'[conditions]\nallowed_names = ["{name}"]\n')
    with pytest.raises(ProfileError, match=re.escape(message)) as info:
        load_profile(path)
    assert str(path) in str(info.value)


TABLE_PLUGIN = '''
from dataclasses import dataclass
from patchmerge.hookspecs import hookimpl


@dataclass(frozen=True)
class Extra:
    level: int = 1

    def __post_init__(self):
        if self.level > 9:
            raise ValueError(f"'extra.level' must be at most 9, got {self.level}")


@hookimpl
def profile_sections():
    return {"extra": Extra}
'''


def _with_table_plugin(tmp_path, table):
    (tmp_path / "extra_plugin.py").write_text(TABLE_PLUGIN)
    return _write(tmp_path, MINIMAL.replace("[sources]", 'plugins = ["extra_plugin.py"]\n[sources]') + table)


def test_a_misspelt_section_is_unknown_at_once(tmp_path):
    with pytest.raises(ProfileError, match=r"unknown key 'chek' \(did you mean 'check'\?\)"):
        load_profile(_write(tmp_path, MINIMAL + "[chek]\ntimeout = 3\n"))


def test_a_table_no_plugin_declares_is_an_unknown_key(tmp_path):
    from patchmerge.host import make_plugin_manager

    profile = load_profile(_write(tmp_path, MINIMAL + "[extra]\nlevel = 3\n"))
    assert profile.tables == {"extra": {"level": 3}}  # kept for a plugin until the plugins are loaded
    with pytest.raises(ProfileError, match=r"p\.toml: unknown key 'extra' \(no loaded plugin reads a \[extra\] "):
        make_plugin_manager(profile)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[extra]\nlevel = "3"\n', r"'extra\.level' must be int, got a string"),
        ("[extra]\nlevle = 3\n", r"unknown key 'extra\.levle' \(did you mean 'level'\?\)"),
        ("[extra]\nlevel = 10\n", r"'extra\.level' must be at most 9, got 10"),
    ],
)
def test_a_plugin_table_is_checked_like_a_section(tmp_path, table, message):
    from patchmerge.host import make_plugin_manager

    with pytest.raises(ProfileError, match=message) as info:
        make_plugin_manager(load_profile(_with_table_plugin(tmp_path, table)))
    assert "p.toml" in str(info.value)


def test_a_plugin_reads_its_table_or_its_defaults(tmp_path):
    from patchmerge.host import make_plugin_manager
    from patchmerge.profile import plugin_section

    profile = load_profile(_with_table_plugin(tmp_path, "[extra]\nlevel = 4\n"))
    answers = make_plugin_manager(profile).hook.profile_sections()
    extra = next(found["extra"] for found in answers if "extra" in found)
    assert plugin_section(profile, "extra", extra).level == 4
    assert plugin_section(load_profile(_write(tmp_path, MINIMAL)), "extra", extra).level == 1


def test_set_overrides_a_key_with_the_type_the_key_has(tmp_path):
    path = _write(tmp_path, MINIMAL)
    profile = load_profile(path, ("check.timeout=30", "check.pattern=30", "check.log_files=['a/*.log']"))
    assert (profile.check.timeout, profile.check.pattern, profile.check.log_files) == (30.0, "30", ("a/*.log",))
    with pytest.raises(ProfileError, match=r"'check\.regex' must be bool, got a string"):
        load_profile(path, ("check.regex=maybe",))
    with pytest.raises(ProfileError, match=r"unknown key 'check\.timeot'"):
        load_profile(path, ("check.timeot=3",))
    with pytest.raises(ProfileError, match=r"--set takes KEY=VALUE"):
        load_profile(path, ("check.timeout",))


REQUIRED_PLUGIN = '''
from dataclasses import dataclass
from patchmerge.hookspecs import hookimpl


@dataclass(frozen=True)
class Cluster:
    queue: str
    nodes: int = 1


@hookimpl
def profile_sections():
    return {"cluster": Cluster}
'''


@pytest.mark.parametrize("table", ["", "[cluster]\nnodes = 2\n"])
def test_a_plugin_key_without_a_default_is_required(tmp_path, table):
    from patchmerge.host import make_plugin_manager

    (tmp_path / "cluster_plugin.py").write_text(REQUIRED_PLUGIN)
    text = MINIMAL.replace("[sources]", 'plugins = ["cluster_plugin.py"]\n[sources]') + table
    with pytest.raises(ProfileError, match=r"p\.toml: missing required key 'cluster\.queue'"):
        make_plugin_manager(load_profile(_write(tmp_path, text)))
    fine = load_profile(_write(tmp_path, text + ("" if table else "[cluster]\n") + 'queue = "debug"\n'))
    make_plugin_manager(fine)
