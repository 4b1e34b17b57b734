"""The example's runtime patcher (examples/mini/MindSpeed/mindspeed/patch_utils.py) has MindSpeed 2.1.0 semantics.

These are the semantics a fusion must reproduce (SPEC section 1); each test states one rule on a throwaway package.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

MINI = Path(__file__).resolve().parents[2] / "examples" / "mini"

TARGET_PACKAGE = {
    "tgt/__init__.py": "from tgt.defs import Thing\n",
    "tgt/defs.py": """
        def f():
            return "f"

        class Base:
            def inherited(self):
                return "base"

        class Thing(Base):
            def method(self):
                return "method"

            @staticmethod
            def static(x):
                return ("static", x)

            @classmethod
            def build(cls):
                return ("build", cls.__name__)
    """,
    "tgt/user.py": """
        from tgt.defs import f
        from tgt.defs import f as renamed

        def call():
            return f()
    """,
}


@pytest.fixture
def pu(tmp_path, monkeypatch):
    """mindspeed.patch_utils of the example, with a package `tgt` to patch; both forgotten afterwards."""
    for relative, text in TARGET_PACKAGE.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(MINI / "MindSpeed-LLM"))
    monkeypatch.syspath_prepend(str(MINI / "MindSpeed"))
    before = set(sys.modules)
    module = importlib.import_module("mindspeed.patch_utils")
    importlib.import_module("tgt.user")
    yield module
    for name in set(sys.modules) - before:
        del sys.modules[name]


def apply(pu, target, *funcs, force_last=False, create_dummy=False):
    patch = pu.Patch(target, funcs[0], create_dummy)
    for index, func in enumerate(funcs[1:], start=2):
        patch.set_patch_func(func, force_patch=force_last and index == len(funcs))
    patch.apply_patch()
    return patch


def tag_wrapper(tag):
    def make(fn):
        def wrapped(*args, **kwargs):
            return (tag, fn(*args, **kwargs))

        return wrapped

    make.__name__ = f"{tag}_wrapper"
    return make


def test_wrappers_stack_in_registration_order_over_the_replacement(pu):
    def replacement():
        return "new"

    apply(pu, "tgt.defs.f", tag_wrapper("a"), replacement, tag_wrapper("b"))
    assert sys.modules["tgt.defs"].f() == ("b", ("a", "new"))


def test_decorator_suffix_also_makes_a_wrapper(pu):
    def tag_decorator(fn):
        return lambda: ("d", fn())

    apply(pu, "tgt.defs.f", tag_decorator)
    assert sys.modules["tgt.defs"].f() == ("d", "f")


def test_second_replacement_raises_unless_forced(pu):
    def one():
        return 1

    def two():
        return 2

    with pytest.raises(RuntimeError, match="the patch of f exist !"):
        apply(pu, "tgt.defs.f", one, two)
    apply(pu, "tgt.defs.f", one, two, force_last=True)
    assert sys.modules["tgt.defs"].f() == 2


def test_same_name_aliases_are_rebound_other_names_are_not(pu):
    apply(pu, "tgt.defs.f", tag_wrapper("w"))
    user = sys.modules["tgt.user"]
    assert user.f() == ("w", "f") and user.call() == ("w", "f")
    assert user.renamed() == "f"


def test_target_through_a_module_that_only_imports_it_rebinds_the_definition(pu):
    apply(pu, "tgt.user.f", tag_wrapper("w"))
    assert sys.modules["tgt.defs"].f() == ("w", "f")


def test_two_targets_on_one_definition_wrap_twice(pu):
    wrapper = tag_wrapper("w")
    apply(pu, "tgt.defs.f", wrapper)
    apply(pu, "tgt.user.f", wrapper)
    assert sys.modules["tgt.defs"].f() == ("w", ("w", "f"))
    assert sys.modules["tgt.user"].call() == ("w", ("w", "f"))


def test_reapplying_after_a_new_registration_starts_from_the_current_binding(pu):
    patch = apply(pu, "tgt.defs.f", tag_wrapper("a"))
    patch.set_patch_func(tag_wrapper("b"))
    patch.apply_patch()
    assert sys.modules["tgt.defs"].f() == ("b", ("a", ("a", "f")))  # 2.1.0: the earlier wrapper wraps twice


def test_methods_static_class_and_inherited(pu):
    thing = sys.modules["tgt.defs"].Thing

    def method(self):
        return "patched"

    def static(x):
        return ("patched static", x)

    @classmethod
    def build(cls):
        return ("patched build", cls.__name__)

    apply(pu, "tgt.defs.Thing.method", method)
    apply(pu, "tgt.defs.Thing.static", static)
    apply(pu, "tgt.defs.Thing.build", build)
    apply(pu, "tgt.defs.Thing.inherited", tag_wrapper("w"))
    assert thing().method() == "patched"
    assert thing.static(1) == ("patched static", 1)  # a plain function: called through the class
    assert thing.build() == ("patched build", "Thing")
    assert thing().inherited() == ("w", "base")
    assert sys.modules["tgt.defs"].Base().inherited() == "base"  # only the subclass gets the wrapped copy


def test_class_through_package_reexport_rebinds_the_defining_module(pu):
    class Thing:
        pass

    apply(pu, "tgt.Thing", Thing)
    assert sys.modules["tgt.defs"].Thing is Thing


def test_missing_targets(pu):
    def made():
        return "made"

    apply(pu, "tgt.defs.new_function", made)
    assert sys.modules["tgt.defs"].new_function() == "made"
    with pytest.raises(RuntimeError, match="create_dummy"):
        apply(pu, "tgt.defs.Thing.new_method", made)
    apply(pu, "tgt.defs.Thing.new_method", lambda self: "new", create_dummy=True)
    assert sys.modules["tgt.defs"].Thing().new_method() == "new"


def test_manager_collects_per_target(pu):
    pu.MindSpeedPatchesManager.patches_info = {}
    pu.MindSpeedPatchesManager.register_patch("tgt.defs.f", tag_wrapper("a"))
    pu.MindSpeedPatchesManager.register_patch("tgt.defs.f", tag_wrapper("b"))
    pu.MindSpeedPatchesManager.apply_patches()
    assert sys.modules["tgt.user"].call() == ("b", ("a", "f"))


def test_reset_patch_needs_a_registered_target(pu):
    """Why patchmerge's fixup guards reset_patch: a fused target is no longer registered."""
    from mindspeed_llm.mindspore.utils import reset_patch
    from mindspeed_llm.tasks.megatron_adaptor import MegatronAdaptation

    saved = dict(MegatronAdaptation._patch_info_collection)
    try:
        MegatronAdaptation._patch_info_collection.clear()
        MegatronAdaptation.register("tgt.defs.f", tag_wrapper("a"))
        reset_patch("tgt.defs.f")
        assert MegatronAdaptation._patch_info_collection["tgt.defs.f"].wrappers == []
        with pytest.raises(KeyError):
            reset_patch("tgt.defs.not_registered")
    finally:
        MegatronAdaptation._patch_info_collection.clear()
        MegatronAdaptation._patch_info_collection.update(saved)
