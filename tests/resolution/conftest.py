"""Shared fixture tree for the resolver tests: two source roots `A` and `B`, rewritable package `pkg`."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchmerge.resolution import StaticResolver
from patchmerge.source.tree import SourceTree
from tests.conftest import write_tree

FILES = {
    "A/pkg/__init__.py": """
        from .sub import api
        from pkg.core import *
        from .starred import *
    """,
    "A/pkg/sub/__init__.py": """
        from ..impl.functions import api as api
        from . import leaf
    """,
    "A/pkg/sub/leaf.py": "def leaf_fn():\n    return 1\n",
    "A/pkg/impl/__init__.py": "",
    "A/pkg/impl/functions.py": """
        import pkg.impl.helpers as hh
        from .helpers import helper as renamed


        def api():
            return 0


        def twice():
            return 1


        def twice():
            return 2


        ops = None
        LayerImpl = api
        if ops:
            X = 1
        else:
            X = 2
    """,
    "A/pkg/impl/helpers.py": "def helper():\n    return 2\n",
    "A/pkg/core.py": """
        def public():
            pass


        def _private():
            pass
    """,
    "A/pkg/starred.py": """
        __all__ = ["exported"]


        def exported():
            pass


        def not_exported():
            pass
    """,
    "A/pkg/optional.py": """
        from typing import TYPE_CHECKING

        import torch
        from torch.nn import Module as TorchModule

        try:
            from apex.normalization import FusedNorm
        except ImportError:
            FusedNorm = None

        try:
            from pkg.impl.functions import api as FastApi
        except ImportError:
            FastApi = None

        if TYPE_CHECKING:
            from pkg.impl.helpers import helper as only_typing
    """,
    "A/pkg/classes.py": """
        import dataclasses
        from dataclasses import dataclass

        import torch
        from torch import nn


        class Base:
            def shared(self):
                pass

            @staticmethod
            def smeth():
                pass


        class Child(Base):
            attr = 3

            def own(self):
                pass

            @staticmethod
            def st():
                pass

            @classmethod
            def cm(cls):
                pass

            @property
            def prop(self):
                return 1

            @prop.setter
            def prop(self, value):
                pass

            @some_decorator
            def decorated(self):
                pass

            class Inner:
                def meth(self):
                    pass


        class MultiLevel(Child):
            pass


        class Layer(torch.nn.Module):
            def forward(self, x):
                return x


        class Layer2(nn.Module):
            pass


        class Fn(torch.autograd.Function):
            pass


        @dataclass
        class Config:
            x: int = 1

            def __post_init__(self):
                pass


        @dataclasses.dataclass(init=False)
        class NoInit:
            pass


        @dataclass
        class Plain:
            y: int = 0


        class SubConfig(Config):
            pass
    """,
    "A/pkg/users/__init__.py": "",
    "A/pkg/users/u1.py": "from pkg.impl.functions import api\n",
    "A/pkg/users/u2.py": "from ..impl.functions import api as my_api\n",
    "A/pkg/users/u3.py": """
        def late():
            from pkg.impl.functions import api
            return api()
    """,
    "A/pkg/users/u4.py": "from pkg.impl.functions import *\n",
    "A/pkg/users/u5.py": "from pkg import api\n",
    "A/pkg/users/u6.py": """
        from pkg import classes
        from pkg.classes import Child as Parent


        class Sub(Parent):
            pass


        class Sub2(classes.Base):
            pass
    """,
    "A/dup/__init__.py": "",
    "A/dup/m.py": "def f():\n    return 'A'\n",
    "B/dup/__init__.py": "",
    "B/dup/m.py": "\n\ndef f():\n    return 'B'\n",
    "B/dup/only_b.py": "def g():\n    pass\n",
    "B/bonly.py": "def h():\n    pass\n",
    "B/pkg/from_b.py": "def shadowed():\n    pass\n",
}


def line_of(root: Path, relative: str, text: str) -> int:
    """1-based line of the first line of `relative` containing `text`."""
    for number, line in enumerate((root / relative).read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {relative}")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "root", FILES)


@pytest.fixture
def tree(root: Path) -> SourceTree:
    return SourceTree(root, ["A", "B"], ["pkg"])


@pytest.fixture
def resolver(tree: SourceTree) -> StaticResolver:
    return StaticResolver(tree)
