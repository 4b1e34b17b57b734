"""The tiny ROOT_DIR of bench_calls.py: a mini Megatron-LM, MindSpeed (the patches) and a MindSpeed-LLM adaptor
registering them with `MegatronAdaptation.register` under conditions on the args it parses itself (its parser
file `mindspeed_llm/arguments.py`), with the patch JSON and the profile to merge it."""

from __future__ import annotations

from pathlib import Path

ROOTS = ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")

MEGATRON_OPS = '''\
"""Functions and methods MindSpeed patches."""


def f(x):
    return x + 1


def g(x):
    return x + 1


class C:
    def m(self, x):
        return x + 1


class D:
    def m(self, x):
        return x + 1
'''

# the same shape in a module that imports torch, as Megatron's modules do: there a probe sits under
# `if not torch.jit.is_scripting():`, which costs a call of its own
MEGATRON_TENSOR_OPS = '''\
"""A function and a method MindSpeed patches, in a module that imports torch."""

import torch


def h(x):
    return x + 1


class E:
    def m(self, x):
        return x + 1


def dtype():
    return torch.float32
'''

# modules that take `from ... import f` aliases when imported, as Megatron's own modules do
MEGATRON_USER = '''\
"""Holds same-name aliases of patched functions, taken at import time."""

from megatron.core.ops import f, g


def call_f(x):
    return f(x)
'''

GLOBAL_VARS = '''\
"""The parsed arguments of the process."""

_GLOBAL_ARGS = None


def get_args():
    if _GLOBAL_ARGS is None:
        raise RuntimeError("args are not initialized")
    return _GLOBAL_ARGS


def set_args(args):
    global _GLOBAL_ARGS
    _GLOBAL_ARGS = args
'''

MINDSPEED_OPS = '''\
"""The patches: replacements (routes when conditional) and wrappers."""


def f_fast(x):
    return x + 2


def f_wrapper(fn):
    def wrapper(x):
        return fn(x) * 2

    return wrapper


def f_log_wrapper(fn):
    def wrapper(x):
        return fn(x) + 3

    return wrapper


def g_a(x):
    return x + 10


def g_b(x):
    return x + 20


def g_wrapper(fn):
    def wrapper(x):
        return fn(x) * 2

    return wrapper


def g_log_wrapper(fn):
    def wrapper(x):
        return fn(x) + 3

    return wrapper


def m_fast(self, x):
    return x + 2


def m_wrapper(fn):
    def wrapper(self, x):
        return fn(self, x) * 2

    return wrapper


def m_log_wrapper(fn):
    def wrapper(self, x):
        return fn(self, x) + 3

    return wrapper


def dm_a(self, x):
    return x + 10


def dm_b(self, x):
    return x + 20
'''

# the adaptor's own parser, in the layout of MindSpeed-LLM's arguments.py: the options the conditions read
ARGUMENTS = '''\
"""The options MindSpeed-LLM adds to the command line, parsed by the adaptor before Megatron parses it."""


def process_args(parser):
    parser.conflict_handler = 'resolve'
    group = parser.add_argument_group(title='bench-calls')
    group.add_argument('--fast', action='store_true', help='the fast f and C.m')
    group.add_argument('--extra', action='store_true', help='the log wrappers')
    group.add_argument('--mode', type=str, default=None, choices=['a', 'b'], help='the route of g and D.m')
    return parser
'''

MINDSPEED_TENSOR_OPS = '''\
"""The patches of megatron.core.tensor_ops: a replacement and wrappers, as for f and C.m."""


def h_fast(x):
    return x + 2


def h_wrapper(fn):
    def wrapper(x):
        return fn(x) * 2

    return wrapper


def h_log_wrapper(fn):
    def wrapper(x):
        return fn(x) + 3

    return wrapper


def em_fast(self, x):
    return x + 2


def em_wrapper(fn):
    def wrapper(self, x):
        return fn(self, x) * 2

    return wrapper


def em_log_wrapper(fn):
    def wrapper(self, x):
        return fn(self, x) + 3

    return wrapper
'''

ADAPTOR = '''\
"""Registers the patches, in the layout of MindSpeed-LLM's megatron_adaptor."""


class MegatronAdaptation:
    _patches = {}

    @classmethod
    def get_args(cls):
        """The adaptor's own parse of the command line, before Megatron parses and validates it."""
        import argparse

        from mindspeed_llm.arguments import process_args

        parser = argparse.ArgumentParser(description='MindSpeed-LLM Arguments', allow_abbrev=False)
        args, _ = process_args(parser).parse_known_args()
        return args

    @classmethod
    def register(cls, orig_func_name, new_func=None, force_patch=False, create_dummy=False):
        cls._patches.setdefault(orig_func_name, []).append((new_func, force_patch))

    @classmethod
    def execute(cls, args):
        from mindspeed.core.ops import (
            dm_a,
            dm_b,
            f_fast,
            f_log_wrapper,
            f_wrapper,
            g_a,
            g_b,
            g_log_wrapper,
            g_wrapper,
            m_fast,
            m_log_wrapper,
            m_wrapper,
        )
        from mindspeed.core.tensor_ops import em_fast, em_log_wrapper, em_wrapper, h_fast, h_log_wrapper, h_wrapper

        # a replacement, two wrappers, a condition
        if args.fast:
            MegatronAdaptation.register('megatron.core.ops.f', f_fast)
        MegatronAdaptation.register('megatron.core.ops.f', f_wrapper)
        if args.extra:
            MegatronAdaptation.register('megatron.core.ops.f', f_log_wrapper)
        if args.fast:
            MegatronAdaptation.register('megatron.core.ops.C.m', m_fast)
        MegatronAdaptation.register('megatron.core.ops.C.m', m_wrapper)
        if args.extra:
            MegatronAdaptation.register('megatron.core.ops.C.m', m_log_wrapper)
        # routes (conditional replacements, the later one wins) under wrappers
        if args.mode == 'a':
            MegatronAdaptation.register('megatron.core.ops.g', g_a)
        if args.mode == 'b':
            MegatronAdaptation.register('megatron.core.ops.g', g_b, force_patch=True)
        MegatronAdaptation.register('megatron.core.ops.g', g_wrapper)
        if args.extra:
            MegatronAdaptation.register('megatron.core.ops.g', g_log_wrapper)
        if args.mode == 'a':
            MegatronAdaptation.register('megatron.core.ops.D.m', dm_a)
        if args.mode == 'b':
            MegatronAdaptation.register('megatron.core.ops.D.m', dm_b, force_patch=True)
        MegatronAdaptation.register('megatron.core.ops.D.m', m_wrapper)
        if args.extra:
            MegatronAdaptation.register('megatron.core.ops.D.m', m_log_wrapper)
        # the shape of f and C.m, in a module that imports torch
        if args.fast:
            MegatronAdaptation.register('megatron.core.tensor_ops.h', h_fast)
        MegatronAdaptation.register('megatron.core.tensor_ops.h', h_wrapper)
        if args.extra:
            MegatronAdaptation.register('megatron.core.tensor_ops.h', h_log_wrapper)
        if args.fast:
            MegatronAdaptation.register('megatron.core.tensor_ops.E.m', em_fast)
        MegatronAdaptation.register('megatron.core.tensor_ops.E.m', em_wrapper)
        if args.extra:
            MegatronAdaptation.register('megatron.core.tensor_ops.E.m', em_log_wrapper)
'''


def _patch(name: str, condition: list[str] | None = None, force: bool = False, module: str = "ops") -> dict:
    entry = {"patch_import": f"mindspeed.core.{module}.{name}", "patch_name": name, "condition": condition or []}
    if force:
        entry["force_patch"] = True
    return entry


PATCHES = {
    "megatron.core.ops.f": [
        _patch("f_fast", ["args.fast"]),
        _patch("f_wrapper"),
        _patch("f_log_wrapper", ["args.extra"]),
    ],
    "megatron.core.ops.C.m": [
        _patch("m_fast", ["args.fast"]),
        _patch("m_wrapper"),
        _patch("m_log_wrapper", ["args.extra"]),
    ],
    "megatron.core.ops.g": [
        _patch("g_a", ["args.mode == 'a'"]),
        _patch("g_b", ["args.mode == 'b'"], force=True),
        _patch("g_wrapper"),
        _patch("g_log_wrapper", ["args.extra"]),
    ],
    "megatron.core.ops.D.m": [
        _patch("dm_a", ["args.mode == 'a'"]),
        _patch("dm_b", ["args.mode == 'b'"], force=True),
        _patch("m_wrapper"),
        _patch("m_log_wrapper", ["args.extra"]),
    ],
    "megatron.core.tensor_ops.h": [
        _patch("h_fast", ["args.fast"], module="tensor_ops"),
        _patch("h_wrapper", module="tensor_ops"),
        _patch("h_log_wrapper", ["args.extra"], module="tensor_ops"),
    ],
    "megatron.core.tensor_ops.E.m": [
        _patch("em_fast", ["args.fast"], module="tensor_ops"),
        _patch("em_wrapper", module="tensor_ops"),
        _patch("em_log_wrapper", ["args.extra"], module="tensor_ops"),
    ],
}

PROFILE = """\
name = "bench-calls"
description = "the tiny tree of benchmarks/bench_calls.py"

[sources]
roots = ["Megatron-LM", "MindSpeed", "MindSpeed-LLM"]
rewritable = ["megatron", "mindspeed", "mindspeed_llm"]
# as on every machine that runs Megatron: the tensor_ops patches may take their names back from a module that
# imports torch
installed = ["torch"]

[registrations]
files = ["MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py"]
calls = ["MegatronAdaptation.register"]

[runtime]
args_accessor = "megatron.training.get_args"
args_setter = "megatron.training.global_vars.set_args"
semantics = "2.1.0"
adaptor_args_files = ["MindSpeed-LLM/mindspeed_llm/arguments.py"]
"""

TREE = {
    "Megatron-LM/megatron/__init__.py": "",
    "Megatron-LM/megatron/core/__init__.py": "",
    "Megatron-LM/megatron/core/ops.py": MEGATRON_OPS,
    "Megatron-LM/megatron/core/tensor_ops.py": MEGATRON_TENSOR_OPS,
    "Megatron-LM/megatron/core/user.py": MEGATRON_USER,
    "Megatron-LM/megatron/training/__init__.py": "from megatron.training.global_vars import get_args, set_args\n",
    "Megatron-LM/megatron/training/global_vars.py": GLOBAL_VARS,
    "MindSpeed/mindspeed/__init__.py": "",
    "MindSpeed/mindspeed/core/__init__.py": "",
    "MindSpeed/mindspeed/core/ops.py": MINDSPEED_OPS,
    "MindSpeed/mindspeed/core/tensor_ops.py": MINDSPEED_TENSOR_OPS,
    "MindSpeed-LLM/mindspeed_llm/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/arguments.py": ARGUMENTS,
    "MindSpeed-LLM/mindspeed_llm/tasks/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py": ADAPTOR,
}

TREE_ADAPTOR = "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py"


def write_tree(base: Path) -> Path:
    for relative, text in TREE.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return base
