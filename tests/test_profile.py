import pytest

from patchmerge import bundled
from patchmerge.errors import ProfileError
from patchmerge.profile import find_profile, load_profile


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


def test_malformed_toml_and_unknown_name(tmp_path):
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(_write(tmp_path, "name = \n"))
    with pytest.raises(ProfileError, match="no profile named 'nope'; bundled profiles: .*example"):
        load_profile("nope")


def test_overrides_replace_only_given_values():
    profile = load_profile("example")
    changed = profile.with_overrides(patch_json="other.json", description=None)
    assert changed.patch_json == "other.json"
    assert changed.description == profile.description
