"""Finding patch registrations in adaptor files and disabling exactly the fused ones."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from patchmerge.fusion.registrations import (
    Registration,
    RegistrationFileError,
    disable_registrations,
    find_registrations,
)

CALLS = (
    "MegatronAdaptation.register",
    "MindSporeAdaptation.register",
    "patch_manager.register_patch",
    "pm.register_patch",
)
FILE = Path("pkg/tasks/adaptor.py")
MODULE = "pkg.tasks.adaptor"

ADAPTOR = textwrap.dedent(
    """\
    import os
    import ext.layers as layers
    from ext.attention import attention_init
    from .local_patches import local_wrapper
    from ..training import get_model_wrapper as gm_wrapper


    class CoreAdaptation:
        def execute(self, args):
            from ext.training import train_step as step
            MegatronAdaptation.register('megatron.training.train_step', step)
            MegatronAdaptation.register('megatron.core.Attention.__init__', attention_init)
            MegatronAdaptation.register('megatron.core.Attention.__init__', local_wrapper)
            if args.tp_2d:
                MegatronAdaptation.register('megatron.core.SelfAttention.__init__', layers.tp2d_wrapper)
            if args.a:
                if args.b:
                    MegatronAdaptation.register(
                        orig_func_name='megatron.core.Linear.forward',
                        new_func=layers.linear_forward,
                        force_patch=True,
                    )
                else:
                    MegatronAdaptation.register('megatron.core.Linear.forward', layers.other_forward, True)
            MegatronAdaptation.register('megatron.training.get_model', gm_wrapper)  # keep-me
            if args.ai_framework == 'mindspore': MindSporeAdaptation.register('megatron.core.Norm', layers.Norm)


    class Feature:
        def register_patches(self, patch_manager, args):
            from ext.moe import moe_layer as ml
            patch_manager.register_patch('megatron.core.MoELayer', ml)
            patch_manager.register_patch("megatron.core.MoELayer.forward", ml.forward, force_patch=args.force)


    def legacy(pm, args):
        pm.register_patch('megatron.legacy.make', lambda x: x)
        pm.register_patch('megatron.legacy.build', layers.make_wrapper(1))
        pm.register_patch('megatron.legacy.dummy')
        pm.register_patch('megatron.legacy.dup', os.path.join); x = 1
        patched = pm.register_patch('megatron.legacy.value', layers.value)
        helper(pm.register_patch('megatron.legacy.nested', layers.nested))
        other.register('megatron.legacy.not_a_registration', layers.nested)
    """
)


def regs(source: str = ADAPTOR) -> dict[tuple[str, str | None], Registration]:
    return {(r.target, r.local_name): r for r in find_registrations(source, FILE, MODULE, CALLS)}


def disable(fused, source: str = ADAPTOR) -> tuple[str, list[Registration]]:
    return disable_registrations(source, FILE, MODULE, CALLS, fused)


def test_every_shape_found_with_its_call_line_and_resolved_import():
    found = regs()
    assert len(found) == 16  # `other.register` is not a listed shape
    step = found[("megatron.training.train_step", "step")]
    assert step == Registration(
        FILE,
        11,
        "MegatronAdaptation.register",
        "megatron.training.train_step",
        "ext.training.train_step",
        "step",
        False,
    )
    assert found[("megatron.core.Attention.__init__", "attention_init")].patch_import == "ext.attention.attention_init"
    assert (
        found[("megatron.core.SelfAttention.__init__", "layers.tp2d_wrapper")].patch_import == "ext.layers.tp2d_wrapper"
    )
    norm = found[("megatron.core.Norm", "layers.Norm")]
    assert (norm.call, norm.patch_import) == ("MindSporeAdaptation.register", "ext.layers.Norm")
    moe = found[("megatron.core.MoELayer", "ml")]
    assert (moe.call, moe.patch_import) == ("patch_manager.register_patch", "ext.moe.moe_layer")
    assert found[("megatron.core.MoELayer.forward", "ml.forward")].patch_import == "ext.moe.moe_layer.forward"


def test_relative_imports_resolve_against_the_files_package():
    found = regs()
    assert (
        found[("megatron.core.Attention.__init__", "local_wrapper")].patch_import
        == "pkg.tasks.local_patches.local_wrapper"
    )
    assert found[("megatron.training.get_model", "gm_wrapper")].patch_import == "pkg.training.get_model_wrapper"
    # in a package's __init__ the package is the module itself
    source = "from .sub import f\nMegatronAdaptation.register('t.x', f)\n"
    (init,) = find_registrations(source, Path("pkg/tasks/__init__.py"), "pkg.tasks", CALLS)
    assert init.patch_import == "pkg.tasks.sub.f"


def test_keywords_positional_force_patch_and_multiline():
    found = regs()
    kw = found[("megatron.core.Linear.forward", "layers.linear_forward")]
    assert (kw.line, kw.force_patch, kw.patch_import) == (18, True, "ext.layers.linear_forward")
    positional = found[("megatron.core.Linear.forward", "layers.other_forward")]
    assert positional.force_patch is True
    assert found[("megatron.core.MoELayer.forward", "ml.forward")].force_patch is False  # not a literal True


def test_unresolvable_second_arguments_give_none():
    found = regs()
    assert found[("megatron.legacy.make", "lambda x: x")].patch_import is None
    assert found[("megatron.legacy.build", "layers.make_wrapper(1)")].patch_import is None
    assert found[("megatron.legacy.dummy", None)].patch_import is None
    source = textwrap.dedent(
        """\
        from ...too.high import f
        def adapt():
            def inner_wrapper(fn):
                return fn
            MegatronAdaptation.register('t.a', inner_wrapper)
            MegatronAdaptation.register('t.b', undefined_name)
            MegatronAdaptation.register('t.c', f)
            MegatronAdaptation.register('t.d', len)
        """
    )
    assert [r.patch_import for r in find_registrations(source, Path("top.py"), "top", CALLS)] == [None] * 4


def test_module_level_definitions_resolve_to_the_module():
    source = "def local_patch():\n    pass\nMegatronAdaptation.register('t.a', local_patch)\n"
    (reg,) = find_registrations(source, FILE, MODULE, CALLS)
    assert reg.patch_import == "pkg.tasks.adaptor.local_patch"


def test_alias_import_disabled_as_pass_with_the_call_kept_as_comment():
    new, disabled = disable(
        [("megatron.core.Norm", "ext.layers.Norm"), ("megatron.training.train_step", "ext.training.train_step")]
    )
    assert [r.target for r in disabled] == ["megatron.training.train_step", "megatron.core.Norm"]
    assert (
        "        # patchmerge: fused: MegatronAdaptation.register('megatron.training.train_step', step)\n        pass\n"
        in new
    )
    # a one-line `if x: call` becomes a block so the comment can sit above the pass
    assert (
        "        if args.ai_framework == 'mindspore':\n"
        "            # patchmerge: fused: MindSporeAdaptation.register('megatron.core.Norm', layers.Norm)\n"
        "            pass\n"
    ) in new
    compile(new, str(FILE), "exec")


def test_only_statement_of_nested_if_and_multiline_keywords():
    new, disabled = disable(
        {
            ("megatron.core.SelfAttention.__init__", "ext.layers.tp2d_wrapper"),
            ("megatron.core.Linear.forward", "ext.layers.linear_forward"),
        }
    )
    assert len(disabled) == 2
    assert (
        "            if args.b:\n"
        "                # patchmerge: fused: MegatronAdaptation.register(\n"
        "                # patchmerge: fused:     orig_func_name='megatron.core.Linear.forward',\n"
        "                # patchmerge: fused:     new_func=layers.linear_forward,\n"
        "                # patchmerge: fused:     force_patch=True,\n"
        "                # patchmerge: fused: )\n"
        "                pass\n"
        "            else:\n"
        "                MegatronAdaptation.register('megatron.core.Linear.forward', layers.other_forward, True)\n"
    ) in new
    assert "        if args.tp_2d:\n            # patchmerge: fused: " in new
    compile(new, str(FILE), "exec")


def test_one_of_a_pair_disabled_neighbour_on_same_target_stays():
    new, disabled = disable({("megatron.core.Attention.__init__", "pkg.tasks.local_patches.local_wrapper")})
    assert [r.local_name for r in disabled] == ["local_wrapper"]
    assert "    MegatronAdaptation.register('megatron.core.Attention.__init__', attention_init)\n" in new
    assert "# patchmerge: fused: MegatronAdaptation.register('megatron.core.Attention.__init__', local_wrapper)" in new


def test_untouched_lines_stay_byte_identical_and_trailing_comment_kept():
    new, disabled = disable({("'megatron.training.get_model'", "pkg.training.get_model_wrapper")})  # quoted key
    assert len(disabled) == 1
    before = ADAPTOR.splitlines(keepends=True)
    after = new.splitlines(keepends=True)
    line = disabled[0].line
    assert after[: line - 1] == before[: line - 1]
    assert after[line - 1 : line + 1] == [
        "        # patchmerge: fused: MegatronAdaptation.register('megatron.training.get_model', gm_wrapper)\n",
        "        pass  # keep-me\n",
    ]
    assert after[line + 1 :] == before[line:]


def test_feature_class_register_patches():
    new, disabled = disable({("megatron.core.MoELayer.forward", "ext.moe.moe_layer.forward")})
    assert [r.call for r in disabled] == ["patch_manager.register_patch"]
    assert '# patchmerge: fused: patch_manager.register_patch("megatron.core.MoELayer.forward", ml.forward, ' in new
    assert "patch_manager.register_patch('megatron.core.MoELayer', ml)\n" in new
    compile(new, str(FILE), "exec")


def test_calls_inside_expressions_or_shared_lines_are_left_and_not_reported():
    fused = {
        ("megatron.legacy.dup", "os.path.join"),
        ("megatron.legacy.value", "ext.layers.value"),
        ("megatron.legacy.nested", "ext.layers.nested"),
    }
    new, disabled = disable(fused)
    assert (new, disabled) == (ADAPTOR, [])


def test_unresolved_registration_never_matches():
    new, disabled = disable({("megatron.legacy.make", None), ("megatron.legacy.dummy", None)})  # type: ignore[arg-type]
    assert (new, disabled) == (ADAPTOR, [])


def test_everything_fusable_at_once_compiles_and_is_idempotent():
    fused = {(r.target, r.patch_import) for r in regs().values() if r.patch_import}
    new, disabled = disable(fused)
    assert len(disabled) == 10  # 13 resolvable, 3 of them inside expressions or shared lines
    compile(new, str(FILE), "exec")
    assert disable(fused, new) == (new, [])
    remaining = {r.target for r in find_registrations(new, FILE, MODULE, CALLS)}
    assert remaining == {
        "megatron.legacy.make",
        "megatron.legacy.build",
        "megatron.legacy.dummy",
        "megatron.legacy.dup",
        "megatron.legacy.value",
        "megatron.legacy.nested",
    }


def test_custom_marker_and_no_match_returns_source_unchanged():
    new, _ = disable_registrations(
        ADAPTOR, FILE, MODULE, CALLS, {("megatron.core.Norm", "ext.layers.Norm")}, marker="x"
    )
    assert "# x: MindSporeAdaptation.register(" in new
    assert disable({("megatron.core.Norm", "ext.layers.Other")}) == (ADAPTOR, [])


def test_syntax_error_names_the_file():
    with pytest.raises(RegistrationFileError, match="adaptor.py"):
        find_registrations("def broken(:\n", FILE, MODULE, CALLS)


def test_a_target_held_in_a_name_bound_to_a_literal_just_before() -> None:
    source = textwrap.dedent(
        """\
        from ext.random import forward_wrapper, backward_wrapper, other_wrapper


        def adapt(args, names):
            target_func_name = 'megatron.random.Checkpoint.forward'
            MindSporeAdaptation.register(target_func_name, forward_wrapper)
            target_func_name = 'megatron.random.Checkpoint.backward'
            MindSporeAdaptation.register(target_func_name, backward_wrapper)
            if args.x:
                target_func_name = 'megatron.random.Checkpoint.other'
            MindSporeAdaptation.register(target_func_name, other_wrapper)  # which one depends on args.x
            for target_func_name in names:
                MindSporeAdaptation.register(target_func_name, other_wrapper)


        def elsewhere():
            MindSporeAdaptation.register(target_func_name, other_wrapper)  # another function's local


        def tuple_and_walrus(args):
            pair, _ = 'megatron.random.Checkpoint.forward', 0
            MindSporeAdaptation.register(pair, forward_wrapper)
            if (name := 'megatron.random.Checkpoint.forward'):
                MindSporeAdaptation.register(name, forward_wrapper)


        def carried(names):
            last = 'megatron.random.Checkpoint.forward'
            for name in names:
                MindSporeAdaptation.register(last, forward_wrapper)  # the previous round's name after the first
                last = name


        def once(args):
            single = 'megatron.random.Checkpoint.forward'
            MindSporeAdaptation.register(single, forward_wrapper)


        def written_elsewhere():
            global SHARED
            SHARED = 'megatron.random.Checkpoint.backward'


        SHARED = 'megatron.random.Checkpoint.forward'
        MindSporeAdaptation.register(SHARED, forward_wrapper)  # another function may have changed it
        """
    )
    found = find_registrations(source, FILE, MODULE, CALLS)
    line = next(n for n, text in enumerate(source.splitlines(), 1) if "register(single," in text)
    # only a name its scope binds exactly once, to a literal, before the call: everything else is computed
    assert [(r.target, r.patch_import, r.line) for r in found] == [
        ("megatron.random.Checkpoint.forward", "ext.random.forward_wrapper", line),
    ]
    fused = [("megatron.random.Checkpoint.forward", "ext.random.forward_wrapper")]
    text, disabled = disable_registrations(source, FILE, MODULE, CALLS, fused)
    assert [r.line for r in disabled] == [line] and "# patchmerge: fused: MindSporeAdaptation.register(single" in text


GUARDED = textwrap.dedent(
    """\
    def register_patches(pm, args):
        pm.register_patch('megatron.core.plain', plain)
        try:
            from ext.triton_ops import sort_chunks
            pm.register_patch('megatron.core.fused_sort', sort_chunks)
        except ImportError:
            pm.register_patch('megatron.core.sort_fallback', fallback)
        else:
            pm.register_patch('megatron.core.sort_ok', ok)
        finally:
            pm.register_patch('megatron.core.always', always)
        try:
            pm.register_patch('megatron.core.checked', checked)
        except (ValueError, ModuleNotFoundError):
            pass
        try:
            pm.register_patch('megatron.core.values', values)
        except ValueError:
            pass
    """
)


def test_a_registration_in_a_try_that_catches_import_errors_is_marked_guarded():
    """Made or not as an import in the `try` works or fails (MindSpeed 26.1.0's triton sort ops): the body, the
    handlers and the else of such a `try`; not its finally, nor a `try` that catches other errors only."""
    found = {r.target: r.import_guarded for r in find_registrations(GUARDED, FILE, MODULE, CALLS)}
    assert found == {
        "megatron.core.plain": False,
        "megatron.core.fused_sort": True,
        "megatron.core.sort_fallback": True,
        "megatron.core.sort_ok": True,
        "megatron.core.always": False,
        "megatron.core.checked": True,
        "megatron.core.values": False,
    }
