"""The reference runtime patcher must do what SPEC section 1 says MindSpeed's patch_utils does."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path

import pytest

from patchmerge.formats import patch_set_from_mapping
from tests.conftest import write_tree
from tests.reference.runtime_patcher import RuntimeCollection, apply_patch_specs


@pytest.fixture
def pkg(tmp_path: Path, monkeypatch):
    """A fresh uniquely named package per test, so imports never leak between tests."""
    name = f"rt_{uuid.uuid4().hex[:8]}"
    write_tree(
        tmp_path,
        {
            f"{name}/__init__.py": "",
            f"{name}/core.py": """
                LOG = []

                def f(x):
                    LOG.append("f")
                    return x

                class Layer:
                    def forward(self, x):
                        return x + 1

                    @staticmethod
                    def size():
                        return 1
            """,
            f"{name}/user.py": f"""
                from {name}.core import f
                from {name}.core import f as renamed
            """,
            f"{name}/patches.py": f"""
                from {name}.core import LOG

                def f(x):
                    LOG.append("patched_f")
                    return x * 10

                def f_wrapper(fn):
                    def inner(x):
                        LOG.append("outer-before")
                        return fn(x) + 1
                    return inner

                def other_wrapper(fn):
                    def inner(x):
                        LOG.append("other")
                        return fn(x) * 2
                    return inner

                def forward(self, x):
                    return x + 100

                def new_helper():
                    return "new"
            """,
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def obj(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_wrappers_apply_in_registration_order_first_innermost(pkg):
    collection = RuntimeCollection()
    collection.register(f"{pkg}.core.f", obj(f"{pkg}.patches.f_wrapper"))
    collection.register(f"{pkg}.core.f", obj(f"{pkg}.patches.other_wrapper"))
    collection.apply()
    core = importlib.import_module(f"{pkg}.core")
    assert core.f(3) == (3 + 1) * 2  # f_wrapper inner, other_wrapper outer
    assert core.LOG == ["other", "outer-before", "f"]


def test_replacement_then_wrappers_and_same_name_alias_rebinding(pkg):
    collection = RuntimeCollection()
    collection.register(f"{pkg}.core.f", obj(f"{pkg}.patches.f_wrapper"))
    collection.register(f"{pkg}.core.f", obj(f"{pkg}.patches.f"))
    importlib.import_module(f"{pkg}.user")
    collection.apply()
    user = importlib.import_module(f"{pkg}.user")
    assert user.f(2) == 21
    assert user.renamed(2) == 2  # an alias under another name keeps the original, as at runtime


def test_second_replacement_raises_unless_force_patch(pkg):
    collection = RuntimeCollection()
    collection.register(f"{pkg}.core.f", obj(f"{pkg}.patches.f"))
    with pytest.raises(RuntimeError, match="exist"):
        collection.register(f"{pkg}.core.f", obj(f"{pkg}.patches.forward"))
    collection.register(f"{pkg}.core.f", obj(f"{pkg}.patches.new_helper"), force_patch=True)
    collection.apply()
    assert obj(f"{pkg}.core.f")() == "new"


def test_methods_and_new_attributes(pkg):
    collection = RuntimeCollection()
    collection.register(f"{pkg}.core.Layer.forward", obj(f"{pkg}.patches.forward"))
    collection.register(f"{pkg}.core.Layer.helper", obj(f"{pkg}.patches.new_helper"))
    collection.register(f"{pkg}.core.brand_new", obj(f"{pkg}.patches.new_helper"))
    collection.apply()
    layer = obj(f"{pkg}.core.Layer")()
    assert layer.forward(1) == 101
    assert obj(f"{pkg}.core.Layer").helper() == "new"
    assert obj(f"{pkg}.core.brand_new")() == "new"


@pytest.mark.parametrize(("semantics", "expected"), [("2.1.0", 5 + 3), ("2.2.0", 5 + 1)])
def test_reapply_wraps_again_in_2_1_0_but_not_from_2_2_0(pkg, semantics, expected):
    collection = RuntimeCollection(semantics)
    collection.register(f"{pkg}.core.f", obj(f"{pkg}.patches.f_wrapper"))
    collection.apply()
    collection.register(f"{pkg}.core.f", obj(f"{pkg}.patches.f_wrapper"))  # marks the Patch for re-apply
    collection.apply()
    # 2.1.0: the original is what is bound now (already wrapped) and the wrapper is listed twice: 3 layers.
    # 2.2.0: the wrapper is kept once and the original was captured once: 1 layer.
    assert obj(f"{pkg}.core.f")(5) == expected


def test_flattened_specs_conditions_and_two_targets_on_one_definition(pkg):
    patch_set = patch_set_from_mapping(
        [
            (f"{pkg}.core.f", [{"patch_import": f"{pkg}.patches.f", "condition": ["args.fast"]}]),
            (f"{pkg}.user.f", [{"patch_import": f"{pkg}.patches.f_wrapper"}]),
        ],
        source=None,
        format="json",
    )
    importlib.import_module(f"{pkg}.user")

    class Args:
        fast = False

    applied = apply_patch_specs(patch_set.patches, Args())
    assert applied == [f"{pkg}.user.f#0"]
    # the wrapper went on the object both modules hold under the name f
    assert obj(f"{pkg}.core.f")(1) == 2 and obj(f"{pkg}.user.f")(1) == 2
