"""One patch for several bindings in different modules: its def moves to the first, and the others import it
from there when that import cannot close a cycle (else they fall back, saying why). Compared with runtime
patching in every way a run may use the tree."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, compare

WRAPPERS = """
from functools import wraps

from megatron.calls import LOG


def traced_wrapper(fn):
    @wraps(fn)
    def wrapper(*args):
        LOG.append("traced>" + fn.__name__)
        return fn(*args) + 1
    return wrapper
"""

SCENARIO = """
def run():
    from megatron.core import alpha, beta, gamma
    from mindspeed import wrappers
    return [alpha.f(1), beta.g(2), gamma.h(3), beta.Layer().forward(4), wrappers.traced_wrapper.__name__]
"""


def test_a_wrapper_of_several_modules_moves_once_and_is_imported_where_no_cycle_can_form(tmp_path):
    scenario = Scenario(
        "shared wrapper",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/alpha.py": "def f(x):\n    return x * 10\n",
            "Megatron-LM/megatron/core/beta.py": (
                "def g(x):\n    return x * 20\n\n\nclass Layer:\n    def forward(self, x):\n        return x * 30\n"
            ),
            # gamma imports alpha at its top: the wrapper cannot move to gamma and be imported into alpha
            "Megatron-LM/megatron/core/gamma.py": "from megatron.core import alpha\n\n\ndef h(x):\n    return x * 40\n",
            "MindSpeed/mindspeed/wrappers.py": WRAPPERS,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        {
            "megatron.core.gamma.h": [{"patch_import": "mindspeed.wrappers.traced_wrapper"}],
            "megatron.core.alpha.f": [{"patch_import": "mindspeed.wrappers.traced_wrapper", "condition": ["args.a"]}],
            "megatron.core.beta.g": [{"patch_import": "mindspeed.wrappers.traced_wrapper"}],
            "megatron.core.beta.Layer.forward": [{"patch_import": "mindspeed.wrappers.traced_wrapper"}],
        },
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    strategies = {p["id"]: (p["strategy"], p["strategy_reason"] or "") for p in report["patches"]}
    assert strategies["megatron.core.gamma.h#0"][0] == "in-source"  # moved here first
    assert strategies["megatron.core.beta.g#0"][0] == "in-source"  # imported from gamma: no cycle
    assert strategies["megatron.core.beta.Layer.forward#0"][0] == "in-source"  # the same import, once
    assert strategies["megatron.core.alpha.f#0"][0] == "deferred"
    assert "could form a cycle" in strategies["megatron.core.alpha.f#0"][1]
    beta = (tmp_path / "fused/Megatron-LM/megatron/core/beta.py").read_text()
    assert beta.count("from megatron.core.gamma import traced_wrapper") == 1


def test_a_wrapper_whose_own_body_imports_what_imports_its_target_falls_back(tmp_path):
    """A wrapper's own body runs when it is applied: in source, while the target's module imports. What it
    imports there must not lead back to that module (it would be half-imported), so that binding falls back."""
    scenario = Scenario(
        "wrapper imports at application",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/beta.py": "def g(x):\n    return x * 20\n",
            # the registry imports the target's module at its top
            "MindSpeed/mindspeed/registry.py": "from megatron.core import beta\n\nAPPLIED = []\n",
            "MindSpeed/mindspeed/wrappers.py": """
                from mindspeed.registry import APPLIED


                def counted_wrapper(fn):
                    APPLIED.append(fn.__name__)

                    def wrapper(x):
                        return fn(x) + len(APPLIED)
                    return wrapper
            """,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core import beta
    from mindspeed import registry
    return [beta.g(1), list(registry.APPLIED)]
""",
        },
        {"megatron.core.beta.g": [{"patch_import": "mindspeed.wrappers.counted_wrapper"}]},
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    (patch,) = report["patches"]
    assert patch["strategy"] == "deferred" and "could form a cycle" in patch["strategy_reason"]


SOFTMAX = """
import functools

from megatron.calls import LOG


class FusedSoftmax:
    def __init__(self, n):
        self.n = n

    def is_available(self, size):
        LOG.append("megatron.is_available")
        return False

    def forward(self, x):
        return x * self.n if self.is_available(x) else -x
"""

FUSED_SOFTMAX_PATCH = """
import functools

from megatron.calls import LOG


def is_available(self, size):
    LOG.append("mindspeed.is_available %d" % self.n)
    return size > 1


@functools.lru_cache(maxsize=None)
def forward(self, x):
    LOG.append("mindspeed.forward %d" % x)
    return x + self.n
"""

RUN_SOFTMAX = """
def run():
    from megatron.core import softmax
    from megatron.legacy import softmax as legacy
    from mindspeed import fused_softmax
    core, old = softmax.FusedSoftmax(2), legacy.FusedSoftmax(3)
    same = legacy.FusedSoftmax.__dict__["is_available"] is softmax.FusedSoftmax.__dict__["is_available"]
    calls = [core.forward(1), core.forward(5), old.forward(4), old.forward(4), fused_softmax.forward(old, 4)]
    return [*calls, same, softmax.FusedSoftmax.forward.cache_info().hits]
"""


def test_one_replacement_for_members_of_two_classes_moves_to_the_first_and_the_other_binds_it(tmp_path):
    scenario = Scenario(
        "one replacement, two classes",
        {
            "Megatron-LM/megatron/__init__.py": "",
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/softmax.py": SOFTMAX,
            "Megatron-LM/megatron/legacy/__init__.py": "",
            "Megatron-LM/megatron/legacy/softmax.py": SOFTMAX,
            "MindSpeed/mindspeed/fused_softmax.py": FUSED_SOFTMAX_PATCH,
            "MindSpeed-LLM/scenario.py": RUN_SOFTMAX,
        },
        {
            f"megatron.{where}.softmax.FusedSoftmax.{member}": [{"patch_import": f"mindspeed.fused_softmax.{member}"}]
            for where in ("core", "legacy")
            for member in ("is_available", "forward")
        },
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"in-source"}
    legacy = (tmp_path / "fused/Megatron-LM/megatron/legacy/softmax.py").read_text()
    assert "from megatron.core.softmax import FusedSoftmax as _softmax_FusedSoftmax" in legacy
    assert "is_available = _softmax_FusedSoftmax.is_available" in legacy
    assert 'forward = vars(_softmax_FusedSoftmax)["forward"]' in legacy
