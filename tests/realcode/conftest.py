"""Fixtures of the real-code suite: Megatron core 0.8.0 from its published wheel, our own mini MindSpeed and
MindSpeed-LLM on top, an adaptor, a patch JSON and a profile, laid out as a MindSpeed-Core-MS ROOT_DIR."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.realcode.adaptor_src import ADAPTOR_PATH, patch_json
from tests.realcode.adaptor_text import ADAPTOR
from tests.realcode.mindspeed_llm_src import MINDSPEED_LLM_FILES
from tests.realcode.mindspeed_src import MINDSPEED_FILES
from tests.trees import ARGS_MODULE, profile_text

MEGATRON_CORE = "megatron-core==0.8.0"
# pinned so that any CI host gets the same (pure-Python sources inside a platform) wheel
PIP_PLATFORM = ["--only-binary=:all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
                "--implementation", "cp"]

TRAINING_FILES = {
    # the wheel has no megatron.training: the profile's args accessor and args setter live here
    "Megatron-LM/megatron/training/__init__.py": '''
        from megatron.training.global_vars import get_args

        __all__ = ["get_args"]
    ''',
    **ARGS_MODULE,
}

PROFILE = profile_text(
    "realcode",
    [ADAPTOR_PATH],
    description="our mini MindSpeed and MindSpeed-LLM on the published Megatron core 0.8.0",
    semantics="2.1.0",
)


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def _download(cache: Path) -> Path:
    wheels = sorted(cache.glob("megatron_core-0.8.0-*.whl"))
    if wheels and zipfile.is_zipfile(wheels[0]):
        return wheels[0]
    partial = cache / "partial"
    shutil.rmtree(partial, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", MEGATRON_CORE, "-d", str(partial),
               *PIP_PLATFORM, "--disable-pip-version-check", "--quiet"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`pip download {MEGATRON_CORE}` timed out after 300 s (no network?)", pytrace=False)
    found = sorted(partial.glob("megatron_core-0.8.0-*.whl"))
    if done.returncode != 0 or not found:
        pytest.fail(
            f"the real-code suite needs the {MEGATRON_CORE} wheel from the package index and could not get it "
            f"(network or index unreachable?). `{' '.join(command[1:])}` exited {done.returncode}:\n"
            f"{done.stdout[-1500:]}{done.stderr[-3000:]}",
            pytrace=False,
        )
    wheel = cache / found[0].name
    found[0].replace(wheel)  # in the same folder, so a wheel in the cache is always whole
    shutil.rmtree(partial, ignore_errors=True)
    return wheel


@pytest.fixture(scope="session")
def megatron_core_wheel(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The megatron-core 0.8.0 wheel, downloaded once and kept in the pytest cache across runs."""
    cache_plugin = getattr(request.config, "cache", None)
    cache = Path(cache_plugin.mkdir("megatron-core-0.8.0")) if cache_plugin else tmp_path_factory.mktemp("wheel")
    return _download(cache)


@pytest.fixture(scope="session")
def pristine_root(megatron_core_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ROOT_DIR before any merge (never merged into: tests merge into copies)."""
    root = tmp_path_factory.mktemp("realcode") / "root"
    core = root / "Megatron-LM"
    with zipfile.ZipFile(megatron_core_wheel) as wheel:
        members = [n for n in wheel.namelist() if n.startswith("megatron/core/") and n.endswith(".py")]
        assert len(members) > 150, f"{megatron_core_wheel.name}: only {len(members)} megatron/core sources"
        for name in members:
            target = core / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(wheel.read(name))
    assert not (core / "megatron" / "__init__.py").exists()  # a namespace package, as in the wheel
    write_files(root, TRAINING_FILES)
    write_files(root, MINDSPEED_FILES)
    write_files(root, MINDSPEED_LLM_FILES)
    write_files(root, {ADAPTOR_PATH: ADAPTOR})
    (root / "patches.json").write_text(patch_json(), encoding="utf-8")
    (root.parent / "realcode.toml").write_text(PROFILE, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def profile(pristine_root: Path) -> Path:
    return pristine_root.parent / "realcode.toml"
