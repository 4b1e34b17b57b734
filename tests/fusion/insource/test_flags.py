"""The probe flags: declared once below a module's imports, kept current by the helper whatever the order in
which modules declare them, branches are chosen and definitions first run."""

from __future__ import annotations

import types

import libcst as cst
import pytest

from patchmerge.fusion.insource.flags import declare_flags, flag_global
from patchmerge.fusion.runtime_template import pending_flag, render

MODULE = '''"""Ops."""

from __future__ import annotations

import os
from megatron.core import utils
import megatron._patchmerge as _patchmerge

LIMIT = 4


def f(x):
    return x
'''


def test_declarations_go_below_the_leading_imports_once_each():
    first, second = flag_global("m.f#0"), flag_global("m.g#0", chosen=True)
    once = declare_flags(cst.parse_module(MODULE), {first}).code
    lines = once.splitlines()
    at = lines.index(f"{first} = _patchmerge.probe_flag(globals(), {pending_flag('m.f#0')!r})")
    assert lines[at - 1].startswith("# patchmerge: the flags")
    assert lines[at - 3] == "import megatron._patchmerge as _patchmerge"
    assert lines.index("LIMIT = 4") > at
    twice = declare_flags(cst.parse_module(once), {first, second}).code
    assert twice.count(f"{first} = ") == 1 and twice.count("# patchmerge: the flags") == 1
    declaration = f"{second} = _patchmerge.probe_flag(globals(), {pending_flag('m.g#0', True)!r})"
    assert twice.splitlines().index(declaration) == at + 1
    assert declare_flags(cst.parse_module(twice), {first, second}).code == twice
    assert declare_flags(cst.parse_module(MODULE), set()).code == MODULE


def helper() -> types.ModuleType:
    module = types.ModuleType("patchmerge_test_flags_helper")
    exec(compile(render("patchmerge_test_args.get_args", None), "helper", "exec"), module.__dict__)
    return module


def declared(helper_module: types.ModuleType, pid: str, chosen: bool = False) -> dict:
    """The globals of a module that declares the flag of `pid`'s definition, as a merged module does."""
    holder: dict = {}
    holder[flag_global(pid, chosen)] = helper_module.probe_flag(holder, pending_flag(pid, chosen))
    return holder


@pytest.mark.parametrize("declared_first", [True, False])
def test_a_definitions_flag_is_true_until_its_first_run_in_every_module_that_declares_it(declared_first):
    pm = helper()
    name = flag_global("m.f#original")
    early = declared(pm, "m.f#original") if declared_first else None
    if early is not None:
        assert early[name] is True
    pm.first_run("m", "m.f#original")
    late = declared(pm, "m.f#original")
    assert late[name] is False and (early is None or early[name] is False)
    assert pm.TAKEN == [("m.f", "m.f#original")]


@pytest.mark.parametrize("selected_first", [True, False])
def test_a_branchs_flag_is_set_only_once_its_branch_is_chosen(selected_first):
    pm = helper()
    name = flag_global("m.f#0", chosen=True)
    if selected_first:
        pm.select("m.f#0")
    holder = declared(pm, "m.f#0", chosen=True)
    assert holder[name] is selected_first
    pm.select("m.f#0")
    assert holder[name] is True
    pm.first_run("m", "m.f#0")
    assert holder[name] is False
    pm.select("m.f#0")  # chosen again after it ran (a reloaded module): nothing left to probe
    assert holder[name] is False and declared(pm, "m.f#0", chosen=True)[name] is False


def test_an_unchosen_branch_run_directly_is_not_probed():
    pm = helper()
    holder = declared(pm, "m.f#0", chosen=True)
    assert holder[flag_global("m.f#0", chosen=True)] is False  # the probe does not call first_run
    assert pm.TAKEN == []
