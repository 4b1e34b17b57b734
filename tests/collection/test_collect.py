import json

import pytest

from patchmerge.collection import collect, sidecar_path, write_collected
from patchmerge.errors import ProfileError
from patchmerge.host import make_plugin_manager
from patchmerge.loading import load_patch_file
from patchmerge.profile import profile_from_dict
from tests.collection.conftest import FILES, PROFILE, write_tree


def records(result):
    return [(p.target, p.patch_import, list(p.condition), p.phase) for p in result.patch_set.patches]


def test_registrations_in_runtime_order_with_conditions_and_phases(tree, profile):
    result = collect(tree, profile)
    f = result.patch_set.targets["megatron.core.mod.f"]
    # if / elif / else with local alias `a`, `self.args` set in __init__, relative re-export kept as imported
    assert [(p.patch_import, p.condition) for p in f] == [
        ("mindspeed.ops.f_impl", ("args.mode == 'x'",)),
        ("mindspeed.ops.f_wrapper", ("args.mode == 'y'",)),
        ("mindspeed_llm.patches.h_alias", ("args.mode != 'x'", "args.mode != 'y'")),
        ("mindspeed_llm.patches.impl.h_wrapper", ()),  # from the loop over a table of pairs
    ]
    assert f[2].force_patch and f[1].patch_name == "f_wrapper"
    assert list(result.patch_set.targets) == ["megatron.core.mod.f", "megatron.core.mod.C.m", "megatron.core.mod.g"]
    assert result.patch_set.raw_keys["megatron.core.mod.f"] == "'megatron.core.mod.f'"


def test_helper_condition_keeps_its_import(tree, profile):
    m = collect(tree, profile).patch_set.targets["megatron.core.mod.C.m"]
    assert m[0].condition == ("is_special(args)",)
    assert m[0].condition_import == ("mindspeed_llm.helpers.is_special",)


def test_early_return_narrows_later_registrations(tree, profile):
    g = collect(tree, profile).patch_set.targets["megatron.core.mod.g"]
    assert (g[0].patch_import, g[0].condition) == ("mindspeed.ops.g_impl", ("args.enabled",))


def test_feature_gates_are_evaluated_from_init(tree, profile):
    result = collect(tree, profile)
    m = result.patch_set.targets["megatron.core.mod.C.m"][1]
    # level-2 feature: the is_need_apply gate, then the early return inside register_patches (pm.register_patch)
    assert m.condition == ("2 <= args.optimization_level", "getattr(args, 'gated_thing', None)", "args.gated_extra")
    always = [p for p in result.patch_set.targets["megatron.core.mod.g"] if p.phase == 2]
    assert always and always[0].condition == ()  # optimization level 0: unconditional


def test_phases_follow_apply_calls(tree, profile):
    g = collect(tree, profile).patch_set.targets["megatron.core.mod.g"]
    assert [p.phase for p in g] == [0, 0, 0, 1, 2]


def test_statically_known_target_and_computed_target(tree, profile):
    result = collect(tree, profile)
    g = result.patch_set.targets["megatron.core.mod.g"]
    assert g[2].patch_import == "mindspeed.ops.g_impl"  # 'megatron.core.mod.' + self.suffix()
    [bad] = result.unreadable
    assert bad.site.line > 0 and "compute_name()" in bad.reason and bad.site.file.endswith("adaptor.py")
    assert not result.complete


def test_dead_and_outside(tree, profile):
    result = collect(tree, profile)
    assert [d.target for d in result.dead] == ["'megatron.core.mod.f'", "'megatron.core.mod.g'"]
    assert [r.target for r in result.outside] == ["torch.nn.Thing"]


def test_provenance_chain(tree, profile):
    result = collect(tree, profile)
    prov = result.provenance["megatron.core.mod.f#0"]
    assert " -> ".join(prov.chain) == "Adaptation.execute -> Core.execute -> Core.patch_a"
    assert prov.collection == "mindspeed_llm.adaptor.Adaptation"
    assert result.provenance["megatron.core.mod.C.m#1"].chain[-1] == "GatedFeature.register_patches"


def test_written_json_loads_and_sidecar(tree, profile, tmp_path):
    result = collect(tree, profile)
    out = tmp_path / "out" / "collected.json"
    side = write_collected(result, out)
    assert side == sidecar_path(out) == out.with_name("collected.provenance.json")
    loaded = load_patch_file(out, make_plugin_manager(profile), profile)
    assert [(p.target, p.patch_import, p.condition, p.phase) for p in loaded.patches] == [
        (p.target, p.patch_import, p.condition, p.phase) for p in result.patch_set.patches]
    data = json.loads(side.read_text())
    assert data["summary"]["patches"] == len(result.patch_set)
    assert data["patches"]["megatron.core.mod.f#0"]["chain"].startswith("Adaptation.execute")
    assert data["unreadable"] and data["dead"]


def test_forwarding_register_and_signature_defaults(tmp_path):
    files = dict(FILES)
    files["MindSpeed-LLM/mindspeed_llm/adaptor.py"] = """
        class Adaptation:
            @classmethod
            def execute(cls):
                Other().execute()
                Adaptation.apply()
            @classmethod
            def register(cls, name, func=None, force_patch=False):
                pass
            @classmethod
            def apply(cls):
                pass
            @classmethod
            def get_args(cls):
                return None

        class Other:
            @classmethod
            def register(cls, name, func=None, force_patch=True):
                Adaptation.register(name, func, force_patch)
            def execute(self):
                args = Adaptation.get_args()
                if not hasattr(args, 'ai_framework') or args.ai_framework != 'ms':
                    return
                from mindspeed.ops import f_impl
                Other.register('megatron.core.mod.f', f_impl)
        """
    root = write_tree(tmp_path / "r", files)
    prof = dict(PROFILE, registrations=dict(PROFILE["registrations"], calls=["Adaptation.register", "Other.register"]))
    result = collect(root, profile_from_dict(prof))
    [patch] = result.patch_set.patches
    assert patch.force_patch and patch.condition == ("hasattr(args, 'ai_framework')", "args.ai_framework == 'ms'")
    assert result.provenance[patch.id].collection == "mindspeed_llm.adaptor.Adaptation"
    assert result.provenance[patch.id].inner is not None


def test_module_entry_fills_a_features_list(tmp_path):
    files = dict(FILES)
    files["MindSpeed-LLM/mindspeed_llm/registry.py"] = """
        from mindspeed.manager import PatchesManager
        class Manager:
            FEATURES = []
            @classmethod
            def set_features(cls, features):
                cls.FEATURES[:] = features
            @classmethod
            def apply_all(cls, args):
                for feature in cls.FEATURES:
                    if feature.is_need_apply(args):
                        feature.register_patches(PatchesManager, args)
                PatchesManager.apply_patches()

        def make():
            out = []
            out.extend([AlwaysFeature()])
            return out
        from mindspeed_llm.features import AlwaysFeature
        def runner(fn):
            return fn
        @runner
        def install():
            Manager.set_features(make())
        install()
        """
    root = write_tree(tmp_path / "r", files)
    prof = dict(PROFILE, collect=dict(PROFILE["collect"], follow_decorators=["runner"], entry=[
        "MindSpeed-LLM/mindspeed_llm/registry.py", "MindSpeed-LLM/mindspeed_llm/registry.py::Manager.apply_all"]))
    result = collect(root, profile_from_dict(prof))
    assert [(p.target, p.patch_import) for p in result.patch_set.patches] == [
        ("megatron.core.mod.g", "mindspeed.ops.g_impl")]


def test_decorated_call_not_followed_is_reported(tmp_path):
    files = dict(FILES)
    files["MindSpeed-LLM/mindspeed_llm/registry.py"] = """
        def runner(fn):
            return fn
        @runner
        def install():
            pass
        install()
        """
    root = write_tree(tmp_path / "r", files)
    prof = dict(PROFILE, collect=dict(PROFILE["collect"], entry=["MindSpeed-LLM/mindspeed_llm/registry.py"]))
    result = collect(root, profile_from_dict(prof))
    assert any("@runner" in u.reason for u in result.unreadable)


def test_bad_entry_is_a_profile_error(tree):
    prof = dict(PROFILE, collect=dict(PROFILE["collect"], entry=["MindSpeed-LLM/mindspeed_llm/adaptor.py::Nope.x"]))
    with pytest.raises(ProfileError, match="Nope.x"):
        collect(tree, profile_from_dict(prof))
    with pytest.raises(ProfileError, match="collect.entry"):
        profile_from_dict(dict(PROFILE, collect={"entry": ["not-a-file"]}))


def test_cls_super_helpers_and_accessor_spellings(tmp_path):
    files = dict(FILES)
    files["Megatron-LM/megatron/training.py"] = "def get_args():\n    return None\n"
    files["MindSpeed-LLM/mindspeed_llm/more.py"] = """
        from megatron.training import get_args as ga
        from mindspeed.ops import g_impl as renamed_g


        def register_more(adaptation):
            if ga().use_more:
                adaptation.register('megatron.core.mod.g', renamed_g)
        """
    files["MindSpeed-LLM/mindspeed_llm/adaptor.py"] = """
        from megatron.training import get_args
        from .more import register_more
        from mindspeed.ops import f_impl, f_wrapper


        class Adaptation:
            @classmethod
            def execute(cls):
                cls.core()
                Child().execute()
                Adaptation.apply()

            @classmethod
            def core(cls):
                if get_args().fast:
                    if get_args().mode == 'a':
                        cls.register('megatron.core.mod.f', f_impl)
                else:
                    cls.register('megatron.core.mod.f', f_wrapper)
                register_more(cls)

            @classmethod
            def register(cls, name, func=None, force_patch=False):
                pass

            @classmethod
            def apply(cls):
                pass


        class Base:
            def execute(self):
                from mindspeed.ops import m_impl
                Adaptation.register('megatron.core.mod.C.m', m_impl)


        class Child(Base):
            def execute(self):
                super().execute()
        """
    root = write_tree(tmp_path / "r", files)
    prof = dict(
        PROFILE,
        registrations=dict(
            PROFILE["registrations"], calls=["Adaptation.register", "cls.register", "adaptation.register"]
        ),
        collect=dict(PROFILE["collect"], args_spellings=["get_args()", "ga()"]),
    )
    result = collect(root, profile_from_dict(prof))
    assert records(result) == [
        ("megatron.core.mod.f", "mindspeed.ops.f_impl", ["args.fast", "args.mode == 'a'"], None),
        ("megatron.core.mod.f", "mindspeed.ops.f_wrapper", ["not args.fast"], None),
        ("megatron.core.mod.g", "mindspeed.ops.g_impl", ["args.use_more"], None),
        ("megatron.core.mod.C.m", "mindspeed.ops.m_impl", [], None),
    ]
    assert result.provenance["megatron.core.mod.g#0"].chain[-1] == "register_more"
    assert result.provenance["megatron.core.mod.C.m#0"].chain[-2:] == ("Child.execute", "Base.execute")
