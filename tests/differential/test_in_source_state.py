"""Moved code that rebinds its module's state (`global X; X = ...`): the stores go through the patch module, as
the reads do, so MindSpeed's other code sees the state the moved code sets. Compared with runtime patching in
every way a run may use the tree, for every condition value; forms an attribute cannot take fall back."""

from __future__ import annotations

import json
import re

from tests.differential.harness import Scenario, compare

STATE = """
from megatron.calls import LOG


def initialize(size):
    LOG.append("megatron.initialize")
    return size


def destroy():
    LOG.append("megatron.destroy")


def engine(use):
    return "megatron"
"""

PARALLEL_STATE = """
from functools import wraps

from megatron.calls import LOG

_GROUP = None
_BUFFERS = []
_SIZES = (0, 0)
colorsys = None


def initialize_wrapper(fn):
    @wraps(fn)
    def wrapper(size):
        global _GROUP, _SIZES
        result = fn(size)
        _GROUP = "group-%d" % size
        _SIZES = first, second = (size, size * 2)
        for _GROUP in (_GROUP, _GROUP + "!"):
            LOG.append("initialize " + _GROUP)
        _BUFFERS.append(first + second)
        return result
    return wrapper


def engine(use):
    global colorsys
    if use:
        import colorsys
    return colorsys.rgb_to_hsv(1, 0, 0) if use else colorsys


def destroy(flush=True):
    global _GROUP, _BUFFERS
    LOG.append("mindspeed.destroy %s" % (_GROUP,))
    _GROUP = None
    if flush:
        _BUFFERS = []


def group():
    return _GROUP, list(_BUFFERS), _SIZES
"""

SCENARIO = """
def run():
    from megatron.core import state
    from mindspeed.core import parallel_state
    before = parallel_state.group()
    state.initialize(3)
    middle = parallel_state.group()
    state.destroy()
    loaded = [parallel_state.colorsys, state.engine(False), state.engine(True), parallel_state.colorsys.__name__]
    return [before, middle, parallel_state.group(), loaded]
"""

WALRUS = """
_GROUP = None


def destroy():
    global _GROUP
    if (_GROUP := None) is None:
        return _GROUP
"""

RUN_DESTROY = """
def run():
    from megatron.core import state
    return state.destroy()
"""


def test_moved_code_rebinding_its_module_state_writes_it_through_the_module(tmp_path):
    scenario = Scenario(
        "module state",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/state.py": STATE,
            "MindSpeed/mindspeed/core/__init__.py": "",
            "MindSpeed/mindspeed/core/parallel_state.py": PARALLEL_STATE,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        {
            "megatron.core.state.initialize": [
                {"patch_import": "mindspeed.core.parallel_state.initialize_wrapper", "condition": ["args.a"]}
            ],
            "megatron.core.state.destroy": [{"patch_import": "mindspeed.core.parallel_state.destroy"}],
            "megatron.core.state.engine": [{"patch_import": "mindspeed.core.parallel_state.engine"}],
        },
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {(p["id"], p["strategy"]) for p in report["patches"]} == {
        ("megatron.core.state.initialize#0", "in-source"),
        ("megatron.core.state.destroy#0", "in-source"),
        ("megatron.core.state.engine#0", "in-source"),
    }
    fused = (tmp_path / "fused/Megatron-LM/megatron/core/state.py").read_text()
    assert not re.search(r"^\s*global\s", fused, re.MULTILINE)  # no global statement: state goes through the module
    assert "mindspeed.core.parallel_state._GROUP = None" in fused
    assert "mindspeed.core.parallel_state.colorsys = __import__('colorsys')" in fused


def test_module_state_bound_in_a_form_an_attribute_cannot_take_falls_back(tmp_path):
    scenario = Scenario(
        "module state by walrus",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/state.py": STATE,
            "MindSpeed/mindspeed/core/__init__.py": "",
            "MindSpeed/mindspeed/core/walrus.py": WALRUS,
            "MindSpeed-LLM/scenario.py": RUN_DESTROY,
        },
        {"megatron.core.state.destroy": [{"patch_import": "mindspeed.core.walrus.destroy"}]},
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    (patch,) = report["patches"]
    assert patch["strategy"] == "deferred"
    assert "an assignment expression of _GROUP" in patch["strategy_reason"]


SETUP = """
from megatron.calls import LOG


def setup():
    global colorsys
    import colorsys
    LOG.append("megatron.setup")


def use():
    return colorsys.rgb_to_hsv(0, 1, 0)


def touch():
    global colorsys  # declared, never bound here: replacing this def unbinds nothing
    return colorsys.__name__
"""


def test_an_original_that_binds_its_modules_state_is_not_replaced_in_source(tmp_path):
    """Megatron's def binds a global the module's other code reads; in source, replacing the def would leave
    that name unbound for them (the merge's validation would refuse the file): the binding falls back."""
    scenario = Scenario(
        "original binds module state",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/setup.py": SETUP,
            "MindSpeed/mindspeed/setup.py": 'from megatron.calls import LOG\n\n\ndef setup():\n    LOG.append("ms")\n',
            "MindSpeed-LLM/scenario.py": RUN_SETUP,
        },
        {"megatron.core.setup.setup": [{"patch_import": "mindspeed.setup.setup", "condition": ["not args.plain"]}]},
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    (patch,) = report["patches"]
    assert patch["strategy"] == "in-source"  # conditional: the original stays in the else


def test_an_original_that_binds_its_modules_state_is_kept_under_a_private_name_when_replaced_outright(tmp_path):
    """The runtime never runs the replaced original, so the state it would bind stays unbound (`use` raises
    NameError, as at runtime); in source the original stays defined under a private name, never called, so the
    module still binds the name for a reader and for pyflakes, and nothing else changes."""
    scenario = Scenario(
        "original binds module state, replaced",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/setup.py": SETUP,
            "MindSpeed/mindspeed/setup.py": PATCH_SETUP,
            "MindSpeed-LLM/scenario.py": RUN_SETUP,
        },
        {
            "megatron.core.setup.setup": [{"patch_import": "mindspeed.setup.setup"}],
            "megatron.core.setup.touch": [{"patch_import": "mindspeed.setup.touch"}],
        },
    )
    (outcome,) = compare(tmp_path, scenario)  # equal to the runtime's, which never binds colorsys
    assert "name 'colorsys' is not defined" in outcome["result"], outcome
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["id"]: p["strategy"] for p in report["patches"]} == {
        "megatron.core.setup.setup#0": "in-source",
        "megatron.core.setup.touch#0": "in-source",
    }
    fused = (tmp_path / "fused/Megatron-LM/megatron/core/setup.py").read_text()
    kept = fused[fused.index("def _replaced_setup():"):]
    assert "global colorsys" in kept and "import colorsys" in kept.split("def use")[0]
    assert "never called: it binds colorsys" in fused
    assert fused.count("def setup():") == 1 and 'LOG.append("ms")' in fused


RUN_SETUP = """
def run():
    from megatron.core import setup
    setup.setup()
    try:
        return [setup.touch(), setup.use()]
    except NameError as exc:
        return str(exc)
"""


PATCH_SETUP = """
from megatron.calls import LOG


def setup():
    LOG.append("ms")


def touch():
    return "touched"
"""


def test_one_replacement_for_two_members_where_one_original_binds_module_state(tmp_path):
    """`A.setup` and `B.setup` get one patch def: it moves to A, and B would bind that object, dropping B's
    original, which binds `_STATE` for `state()`. That binding falls back; the run agrees with the runtime."""
    scenario = Scenario(
        "reused replacement over a state-binding original",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/layers.py": """
                class A:
                    def setup(self):
                        return "a"


                class B:
                    def setup(self):
                        global _STATE
                        _STATE = "b"
                        return "b"


                def state():
                    return _STATE
            """,
            "MindSpeed/mindspeed/layers.py": "def setup(self):\n    return 'ms'\n",
            "MindSpeed-LLM/scenario.py": (
                "def run():\n    from megatron.core import layers\n"
                "    out = [layers.A().setup(), layers.B().setup()]\n"
                "    try:\n        out.append(layers.state())\n    except NameError as exc:\n"
                "        out.append(str(exc))\n    return out\n"
            ),
        },
        {
            "megatron.core.layers.A.setup": [{"patch_import": "mindspeed.layers.setup"}],
            "megatron.core.layers.B.setup": [{"patch_import": "mindspeed.layers.setup"}],
        },
    )
    (outcome,) = compare(tmp_path, scenario)
    assert "name '_STATE' is not defined" in outcome["result"]
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    patches = {p["id"]: p for p in report["patches"]}
    assert patches["megatron.core.layers.A.setup#0"]["strategy"] == "in-source"
    b = patches["megatron.core.layers.B.setup#0"]
    assert b["strategy"] == "deferred" and "binds module state ('global _STATE')" in b["strategy_reason"]
