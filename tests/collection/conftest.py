"""A small ROOT_DIR written per test, shaped like MindSpeed-LLM's adaptors (our own code, not theirs)."""

import textwrap
from pathlib import Path

import pytest

from patchmerge.profile import profile_from_dict

FILES = {
    "Megatron-LM/megatron/__init__.py": "",
    "Megatron-LM/megatron/core/__init__.py": "",
    "Megatron-LM/megatron/core/mod.py": """
        def f(): return 1
        def g(): return 2
        class C:
            def m(self): return 3
        """,
    "MindSpeed/mindspeed/__init__.py": "",
    "MindSpeed/mindspeed/ops.py": """
        def f_impl(): return 10
        def f_wrapper(fn): return fn
        def g_impl(): return 20
        def m_impl(self): return 30
        """,
    "MindSpeed/mindspeed/manager.py": """
        class PatchesManager:
            patches = {}
            @staticmethod
            def register_patch(name, func=None, force_patch=False, create_dummy=False):
                PatchesManager.patches[name] = func
            @staticmethod
            def apply_patches():
                pass
        """,
    "MindSpeed/mindspeed/feature.py": """
        class Feature:
            def __init__(self, feature_name, optimization_level=2):
                self.feature_name = feature_name.strip().replace('-', '_')
                self.optimization_level = optimization_level
                self.default_patches = self.optimization_level == 0
            def is_need_apply(self, args):
                return (self.optimization_level <= args.optimization_level
                        and getattr(args, self.feature_name, None)) or self.default_patches
            def register_patches(self, patch_manager, args):
                pass
        """,
    "MindSpeed-LLM/mindspeed_llm/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/helpers.py": """
        def is_special(args):
            return args.special
        """,
    "MindSpeed-LLM/mindspeed_llm/patches/__init__.py": "from .impl import h_impl as h_alias\n",
    "MindSpeed-LLM/mindspeed_llm/patches/impl.py": """
        def h_impl(): return 5
        def h_wrapper(fn): return fn
        def other(): return 6
        """,
    "MindSpeed-LLM/mindspeed_llm/features.py": """
        from mindspeed.feature import Feature

        class AlwaysFeature(Feature):
            def __init__(self):
                super().__init__('always', optimization_level=0)
            def register_patches(self, patch_manager, args):
                from mindspeed.ops import g_impl
                patch_manager.register_patch('megatron.core.mod.g', g_impl)

        class GatedFeature(Feature):
            def __init__(self):
                super(GatedFeature, self).__init__('gated-thing')
            def register_patches(self, pm, args):
                if not args.gated_extra:
                    return
                from .patches.impl import other
                pm.register_patch('megatron.core.mod.C.m', other)

        FEATURES = [AlwaysFeature(), GatedFeature()]
        """,
    "MindSpeed-LLM/mindspeed_llm/adaptor.py": """
        from mindspeed_llm.features import FEATURES


        class Adaptation:
            _args = None

            @classmethod
            def execute(cls):
                from mindspeed.manager import PatchesManager
                for adaptation in [Core(), Legacy()]:
                    adaptation.execute()
                    Adaptation.apply()
                args = Adaptation.get_args()
                for feature in FEATURES:
                    if feature.is_need_apply(args):
                        feature.register_patches(PatchesManager, args)
                PatchesManager.apply_patches()

            @classmethod
            def register(cls, name, func=None, force_patch=False):
                pass

            @classmethod
            def apply(cls):
                pass

            @classmethod
            def get_args(cls):
                return cls._args


        class Core:
            def __init__(self):
                self.args = Adaptation.get_args()

            def execute(self):
                self.patch_a()
                self.patch_b()
                self.patch_table()
                self.patch_odd()

            def patch_a(self):
                from mindspeed.ops import f_impl, f_wrapper as fw
                a = Adaptation.get_args()
                if a.mode == 'x':
                    Adaptation.register('megatron.core.mod.f', f_impl)
                elif self.args.mode == 'y':
                    Adaptation.register('megatron.core.mod.f', fw)
                else:
                    from .patches import h_alias
                    Adaptation.register('megatron.core.mod.f', h_alias, force_patch=True)

            def patch_b(self):
                from mindspeed_llm.helpers import is_special
                from mindspeed.ops import m_impl
                args = Adaptation.get_args()
                if is_special(args):
                    Adaptation.register('megatron.core.mod.C.m', m_impl)
                if not args.enabled:
                    return
                if args.level > 1:
                    Adaptation.register('torch.nn.Thing', m_impl)
                from mindspeed.ops import g_impl
                Adaptation.register('megatron.core.mod.g', g_impl)

            def patch_table(self):
                from mindspeed_llm.patches.impl import h_impl, h_wrapper
                for name, fn in [('megatron.core.mod.f', h_wrapper), ('megatron.core.mod.g', h_impl)]:
                    Adaptation.register(name, fn)

            def patch_odd(self):
                from mindspeed.ops import g_impl
                name = 'megatron.core.mod.' + self.suffix()
                Adaptation.register(name, g_impl)
                Adaptation.register(compute_name(), g_impl)

            def suffix(self):
                return 'g'


        class Legacy:
            def execute(self):
                from mindspeed_llm.patches.impl import h_wrapper
                Adaptation.register('megatron.core.mod.g', h_wrapper)

            def never_called(self):
                Adaptation.register('megatron.core.mod.f', h_wrapper)


        def unused():
            Adaptation.register('megatron.core.mod.g', None)
        """,
}

PROFILE = {
    "name": "t",
    "sources": {"roots": ["Megatron-LM", "MindSpeed", "MindSpeed-LLM"],
                "rewritable": ["megatron", "mindspeed", "mindspeed_llm"]},
    "registrations": {"files": ["MindSpeed-LLM/mindspeed_llm/*.py"],
                      "calls": ["Adaptation.register", "patch_manager.register_patch", "pm.register_patch"]},
    "collect": {"entry": ["MindSpeed-LLM/mindspeed_llm/adaptor.py::Adaptation.execute"],
                "apply_calls": ["Adaptation.apply", "PatchesManager.apply_patches"],
                "args_spellings": ["Adaptation.get_args()", "args"]},
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def tree(tmp_path):
    return write_tree(tmp_path / "root", FILES)


@pytest.fixture
def profile():
    return profile_from_dict(PROFILE)
