"""Runtime-helper cases found in review: super() through a routed member, routed static/class methods whose
condition does not hold, properties, inherited members over a patched base, new values not taken, and a patch
that calls its own target while its chain is built. Each compared with runtime patching for every condition."""

from tests.differential.harness import Scenario, compare

ATT = """
from megatron.calls import LOG


class Attention:
    def __init__(self, config, kind="self"):
        LOG.append(("Attention.__init__", kind))
        self.config = config


class SelfAttention(Attention):
    def __init__(self, config):
        LOG.append("SelfAttention.__init__")
        super().__init__(config, kind="self")
"""

PATCH = """
from megatron.calls import LOG


def attention_init(self, config, kind="self"):
    LOG.append(("patched.attention_init", kind))
    self.config = config * 10
"""


def test_super_routed(tmp_path):
    scenario = Scenario(
        "super",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/attention.py": ATT,
            "MindSpeed/mindspeed/attention.py": PATCH,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core.attention import SelfAttention
    return [SelfAttention(1).config, SelfAttention(2).config]
""",
        },
        {
            "megatron.core.attention.Attention.__init__": [
                {"patch_import": "mindspeed.attention.attention_init", "condition": ["args.a"]}
            ]
        },
    )
    compare(tmp_path, scenario)


STATIC_PATCHES = """
def size():
    return 42


def name(cls):
    return 'patched'
"""


def test_static_class_untouched_when_no_condition(tmp_path):
    compare(
        tmp_path,
        Scenario(
            "static",
            {
                "Megatron-LM/megatron/core/__init__.py": "",
                "Megatron-LM/megatron/core/layer.py": """
class Layer:
    @staticmethod
    def size():
        return 1

    @classmethod
    def name(cls):
        return cls.__name__


class Sub(Layer):
    pass
""",
                "MindSpeed/mindspeed/layer.py": STATIC_PATCHES,
                "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core.layer import Layer, Sub
    return [Layer.size(), Sub.name(), Layer().size()]
""",
            },
            {
                "megatron.core.layer.Layer.size": [{"patch_import": "mindspeed.layer.size", "condition": ["args.a"]}],
                "megatron.core.layer.Layer.name": [{"patch_import": "mindspeed.layer.name", "condition": ["args.a"]}],
            },
        ),
    )


def test_new_class_conditional(tmp_path):
    compare(
        tmp_path,
        Scenario(
            "newcls",
            {
                "Megatron-LM/megatron/core/__init__.py": "",
                "Megatron-LM/megatron/core/layer.py": "class Layer:\n    pass\n",
                "MindSpeed/mindspeed/layer.py": "class Extra:\n    kind = 'extra'\n",
                "MindSpeed-LLM/scenario.py": """
def run():
    import megatron.core.layer as m
    return [hasattr(m, "Extra"), getattr(m, "Extra", "missing")]
""",
            },
            {"megatron.core.layer.Extra": [{"patch_import": "mindspeed.layer.Extra", "condition": ["args.a"]}]},
        ),
    )


LAYER = """
from megatron.calls import LOG


class Base:
    def forward(self, x):
        LOG.append("Base.forward")
        return x


class Child(Base):
    pass


class Holder:
    def __init__(self, v):
        self.value = v

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v):
        LOG.append("setter")
        self._value = v
"""

PATCHES = """
from megatron.calls import LOG


def forward(self, x):
    LOG.append("patched.forward")
    return x + 1000


def forward_wrapper(fn):
    def inner(self, x):
        LOG.append("forward_wrapper")
        return fn(self, x) + 1
    return inner


def value_wrapper(prop):
    return property(lambda self: ("wrapped", prop.fget(self)), prop.fset)
"""

PRE_IMPORT = {
    # Megatron imports its layers before the args are set
    "Megatron-LM/megatron/training/__init__.py": (
        "from megatron.training.global_vars import get_args, set_args\nimport megatron.core.layer\n"
    )
}


def test_inherited_member_over_patched_base(tmp_path):
    compare(
        tmp_path,
        Scenario(
            "inherit",
            {
                "Megatron-LM/megatron/core/__init__.py": "",
                "Megatron-LM/megatron/core/layer.py": LAYER,
                "MindSpeed/mindspeed/layer.py": PATCHES,
                **PRE_IMPORT,
                "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core.layer import Base, Child
    return [Child().forward(1), Base().forward(2)]
""",
            },
            {
                "megatron.core.layer.Base.forward": [
                    {"patch_import": "mindspeed.layer.forward", "condition": ["args.a"]}
                ],
                "megatron.core.layer.Child.forward": [{"patch_import": "mindspeed.layer.forward_wrapper"}],
            },
        ),
    )


def test_property_setter(tmp_path):
    compare(
        tmp_path,
        Scenario(
            "prop",
            {
                "Megatron-LM/megatron/core/__init__.py": "",
                "Megatron-LM/megatron/core/layer.py": LAYER,
                "MindSpeed/mindspeed/layer.py": PATCHES,
                "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core.layer import Holder
    h = Holder(5)
    return [h.value, Holder(6).value]
""",
            },
            {
                "megatron.core.layer.Holder.value": [
                    {"patch_import": "mindspeed.layer.value_wrapper", "condition": ["args.a"]}
                ]
            },
        ),
    )


def test_reentrant_settle(tmp_path):
    compare(
        tmp_path,
        Scenario(
            "reentrant",
            {
                "Megatron-LM/megatron/core/__init__.py": "",
                "Megatron-LM/megatron/core/utils.py": """
from megatron.calls import LOG


def version():
    LOG.append("version")
    return 1
""",
                "MindSpeed/mindspeed/utils.py": """
def version_wrapper(fn):
    import megatron.core.utils as utils
    base = utils.version()  # called through the module attribute while the chain is built
    def inner():
        return fn() + base * 100
    return inner
""",
                "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core.utils import version
    return [version(), version()]
""",
            },
            {
                "megatron.core.utils.version": [
                    {"patch_import": "mindspeed.utils.version_wrapper", "condition": ["args.a"]}
                ]
            },
        ),
    )
