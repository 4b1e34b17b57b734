"""Where the bundled profiles and example live, in a source checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    # A wheel carries them inside the package; a checkout (or editable install) has them beside it.
    installed = _PACKAGE_DIR / "_data" / name
    return installed if installed.is_dir() else _PACKAGE_DIR.parent / name


def configs_dir() -> Path:
    return _data_dir("configs")


def examples_dir() -> Path:
    return _data_dir("examples")


def example_root() -> Path:
    return examples_dir() / "mini"
