"""The nox sessions file: settings a CI run relies on."""

import importlib.util
from pathlib import Path

import nox  # installed by the tests session

NOXFILE = Path(__file__).resolve().parents[1] / "noxfile.py"


def test_missing_interpreter_is_an_error_not_a_skip(monkeypatch):
    monkeypatch.setattr(nox.options, "error_on_missing_interpreters", False, raising=False)
    spec = importlib.util.spec_from_file_location("patchmerge_noxfile_under_test", NOXFILE)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert nox.options.error_on_missing_interpreters is True
