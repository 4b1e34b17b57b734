"""Class-level kinds: methods, static and class methods, classes replaced (same name, inheriting the original
under an alias, conditionally), variables bound to classes, new names, @dataclass members, inherited members,
re-exports and one definition reached through two targets."""

from __future__ import annotations

from tests.differential.harness import Scenario, compare

LAYER = """
from dataclasses import dataclass

from megatron.calls import LOG


class Base:
    def forward(self, x):
        LOG.append("Base.forward")
        return x


class Layer(Base):
    def __init__(self, n):
        self.n = n

    def forward(self, x):
        LOG.append("Layer.forward")
        return x * self.n

    @staticmethod
    def size():
        return 1

    @classmethod
    def build(cls, n):
        LOG.append("Layer.build")
        return cls(n)


class Child(Base):
    pass


@dataclass
class Config:
    hidden: int = 4
    heads: int = 2

    def __post_init__(self):
        LOG.append("Config.__post_init__")
        self.ratio = self.hidden // self.heads


@dataclass
class OptimizerConfig:
    lr: float = 0.1
"""

LAYER_PATCHES = """
from megatron.calls import LOG


def forward(self, x):
    LOG.append("patched.forward")
    return x * self.n + 1000


def forward_wrapper(fn):
    def inner(self, x):
        LOG.append("forward_wrapper")
        return fn(self, x) + 1
    return inner


def size():
    return 42


@classmethod
def build(cls, n):
    LOG.append("patched.build")
    return cls(n * 10)


def post_init(self):
    LOG.append("patched.post_init")
    self.ratio = self.hidden * self.heads


def post_init_wrapper(fn):
    def inner(self):
        LOG.append("post_init_wrapper")
        fn(self)
        self.ratio += 1
    return inner


def init_wrapper(fn):
    def inner(self, *args, **kwargs):
        LOG.append("init_wrapper")
        fn(self, *args, **kwargs)
        self.lr = self.lr * 2
    return inner


def extra(self):
    return ("extra", self.n)
"""

RUN_LAYER = """
def run():
    from megatron.core.layer import Child, Config, Layer, OptimizerConfig
    layer = Layer.build(3)
    config = Config(hidden=8)
    return [layer.forward(2), Layer.size(), layer.n, Child().forward(5), config.ratio, OptimizerConfig().lr,
            layer.extra() if hasattr(layer, "extra") else None]
"""


def test_methods_static_class_dataclass_inherited_and_new_members(tmp_path):
    scenario = Scenario(
        "members",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/layer.py": LAYER,
            "MindSpeed/mindspeed/layer.py": LAYER_PATCHES,
            "MindSpeed-LLM/scenario.py": RUN_LAYER,
        },
        {
            "megatron.core.layer.Layer.forward": [
                {"patch_import": "mindspeed.layer.forward", "condition": ["args.a"]},
                {"patch_import": "mindspeed.layer.forward_wrapper", "condition": ["args.b"]},
            ],
            "megatron.core.layer.Layer.size": [{"patch_import": "mindspeed.layer.size"}],
            "megatron.core.layer.Layer.build": [{"patch_import": "mindspeed.layer.build", "condition": ["args.b"]}],
            "megatron.core.layer.Child.forward": [{"patch_import": "mindspeed.layer.forward_wrapper"}],
            "megatron.core.layer.Config.__post_init__": [
                {"patch_import": "mindspeed.layer.post_init", "condition": ["args.a"]},
                {"patch_import": "mindspeed.layer.post_init_wrapper"},
            ],
            "megatron.core.layer.OptimizerConfig.__init__": [{"patch_import": "mindspeed.layer.init_wrapper"}],
            "megatron.core.layer.Layer.extra": [{"patch_import": "mindspeed.layer.extra"}],
        },
    )
    assert len(compare(tmp_path, scenario)) == 4


CLASSES = {
    "Megatron-LM/megatron/core/__init__.py": "",
    "Megatron-LM/megatron/core/norm.py": """
        from megatron.calls import LOG


        class Norm:
            def __call__(self, x):
                LOG.append("Norm")
                return x


        try:
            from transformer_engine_missing import FastNorm
        except ImportError:
            FastNorm = Norm

        ops = None
    """,
    "Megatron-LM/megatron/core/model.py": """
        from megatron.calls import LOG
        from megatron.core.norm import Norm


        class Model:
            def __init__(self):
                LOG.append("Model.__init__")
                self.norm = Norm()

            def __call__(self, x):
                return self.norm(x) + 1


        class Attention:
            kind = "megatron"
    """,
    "Megatron-LM/megatron/core/block.py": """
        from megatron.core.model import Attention, Model
        from megatron.core.norm import FastNorm, Norm


        def make():
            return [Model()(1), Attention.kind, FastNorm()(2), Norm()(3)]
    """,
    "MindSpeed/mindspeed/norm.py": """
        from megatron.calls import LOG


        class Norm:
            def __call__(self, x):
                LOG.append("mindspeed.Norm")
                return x * 100


        class Ops:
            @staticmethod
            def gmm(x):
                return ("gmm", x)
    """,
    "MindSpeed/mindspeed/model.py": """
        from megatron.calls import LOG
        from megatron.core.model import Model as MegatronModel


        class Model(MegatronModel):
            def __init__(self):
                super().__init__()
                LOG.append("mindspeed.Model.__init__")

            def __call__(self, x):
                return super().__call__(x) * 2


        class Attention:
            kind = "flash"
    """,
    "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core import block, norm
    return [block.make(), norm.ops.gmm(1) if norm.ops else None]
""",
}


def test_classes_same_name_inheriting_alias_conditional_and_variables(tmp_path):
    scenario = Scenario(
        "classes",
        CLASSES,
        {
            "megatron.core.norm.Norm": [{"patch_import": "mindspeed.norm.Norm", "condition": ["args.a"]}],
            "megatron.core.norm.FastNorm": [{"patch_import": "mindspeed.norm.Norm"}],
            "megatron.core.norm.ops": [{"patch_import": "mindspeed.norm.Ops"}],
            "megatron.core.model.Model": [{"patch_import": "mindspeed.model.Model"}],
            "megatron.core.model.Attention": [{"patch_import": "mindspeed.model.Attention", "condition": ["args.b"]}],
        },
    )
    # patch modules imported first (they import their targets): a class settle waits until they are imported
    assert len(compare(tmp_path, scenario)) == 4


def test_reexports_and_one_definition_through_two_targets(tmp_path):
    scenario = Scenario(
        "reexports",
        {
            "Megatron-LM/megatron/training/utils.py": """
                from megatron.calls import LOG


                def unwrap(model):
                    LOG.append("unwrap")
                    return model
            """,
            "Megatron-LM/megatron/training/training.py": "from megatron.training.utils import unwrap\n",
            "Megatron-LM/megatron/training/checkpointing.py": "from megatron.training.utils import unwrap\n",
            "Megatron-LM/megatron/legacy/__init__.py": "",
            "Megatron-LM/megatron/legacy/model/__init__.py": "from .gpt import GPT\n",
            "Megatron-LM/megatron/legacy/model/gpt.py": "class GPT:\n    name = 'megatron'\n",
            "MindSpeed-LLM/mindspeed_llm/patches.py": """
                from megatron.calls import LOG


                def unwrap_wrapper(fn):
                    def inner(model):
                        LOG.append("unwrap_wrapper")
                        return [fn(model)]
                    return inner


                class GPT:
                    name = "llm"
            """,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.legacy.model import GPT
    from megatron.legacy.model.gpt import GPT as Defined
    from megatron.training import checkpointing, training, utils
    return [training.unwrap(1), checkpointing.unwrap(2), utils.unwrap(3), GPT.name, Defined.name]
""",
        },
        {
            "megatron.training.training.unwrap": [{"patch_import": "mindspeed_llm.patches.unwrap_wrapper"}],
            "megatron.training.checkpointing.unwrap": [
                {"patch_import": "mindspeed_llm.patches.unwrap_wrapper", "condition": ["args.twice"]}
            ],
            "megatron.legacy.model.GPT": [{"patch_import": "mindspeed_llm.patches.GPT"}],
        },
    )
    outcomes = compare(tmp_path, scenario)
    assert "[[1]]" in outcomes[1]["result"]  # wrapped twice when both targets apply, as at runtime
