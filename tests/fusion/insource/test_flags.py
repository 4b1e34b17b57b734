"""The probe flags: declared once below a module's imports, kept current by the helper whatever the order in
which modules declare them, branches are chosen and definitions first run."""

from __future__ import annotations

import types

import libcst as cst
import pytest

from patchmerge.fusion.insource.flags import declare_flags, flag_global, with_flags
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


def probed(module_text: str, pid: str = "m.f#original") -> tuple[cst.Module, str]:
    """`module_text` with a probe as the first statement of its def `f`, as planned for a module without torch."""
    flag = flag_global(pid)
    probe = cst.parse_statement(f"if {flag}:\n    _patchmerge.first_run(__name__, {pid!r})\n")
    module = cst.parse_module(module_text)

    def with_probe(node: cst.FunctionDef) -> cst.FunctionDef:
        body = node.body
        assert isinstance(body, cst.IndentedBlock)
        return node.with_changes(body=body.with_changes(body=[probe, *body.body]))

    body = [with_probe(s) if isinstance(s, cst.FunctionDef) and s.name.value == "f" else s for s in module.body]
    return module.with_changes(body=body), flag


@pytest.mark.parametrize("torch_import", ["import torch.nn.functional as F", "from torch import nn"])
def test_a_module_importing_torch_without_binding_it_tests_the_helper_flag_behind_is_scripting(torch_import):
    """TorchScript refuses a global bool and needs `torch.jit.is_scripting()` to skip the probe call: a module
    that imports torch as it loads gets the name bound (before, `from torch import nn` left the probe call to be
    compiled by a caller scripted at import)."""
    module, flag = probed(f"import megatron._patchmerge as _patchmerge\n{torch_import}\n\n\ndef f(x):\n    return x\n")
    code = with_flags(module, {flag}).code
    assert f"if _patchmerge.{pending_flag('m.f#original')} and not torch.jit.is_scripting():" in code
    assert "\nimport torch\n" in code and flag not in code


@pytest.mark.parametrize(
    "torch_import",
    [
        "if TYPE_CHECKING:\n    import torch",
        "try:\n    from torch import nn\nexcept ImportError:\n    nn = None",
        "def g():\n    import torch\n    return torch",
        "with suppress(ImportError):\n    import torch.nn",
    ],
)
def test_a_module_importing_torch_only_sometimes_is_not_made_to_import_it(torch_import):
    """Torch only for type checkers, only if installed, only in a def: the merge adds no import of torch (that
    would import it where the module does not, or fail where it is missing), so the probe tests the helper's flag
    unguarded (before, torch only under TYPE_CHECKING gave a guard naming an unbound `torch`: NameError)."""
    text = (
        "from contextlib import suppress\nfrom typing import TYPE_CHECKING\n"
        f"import megatron._patchmerge as _patchmerge\n{torch_import}\n\n\ndef f(x):\n    return x\n"
    )
    module, flag = probed(text)
    code = with_flags(module, {flag}).code
    assert f"if _patchmerge.{pending_flag('m.f#original')}:" in code and flag not in code
    assert code.count("import torch") == text.count("import torch")


def test_a_module_binding_torch_is_left_as_planned_and_one_without_torch_declares_its_flags():
    module, flag = probed("import megatron._patchmerge as _patchmerge\n\n\ndef f(x):\n    return x\n")
    assert f"{flag} = _patchmerge.probe_flag(globals()" in with_flags(module, {flag}).code
    assert with_flags(module, set()).code == module.code


def test_declarations_follow_the_last_import_before_the_first_definition():
    """No import after a declaration (pycodestyle's E402), no probed def above its flag."""
    text = (
        "import os\nimport megatron._patchmerge as _patchmerge\ntry:\n    import yaml\nexcept ImportError:\n"
        "    yaml = None\nfrom megatron.calls import LOG\n\nLIMIT = 1\n\n\ndef f(x):\n    return x\n\n\nimport json\n"
    )
    module, flag = probed(text)
    lines = with_flags(module, {flag}).code.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith(f"{flag} = "))
    assert lines.index("from megatron.calls import LOG") < at < lines.index("def f(x):")
