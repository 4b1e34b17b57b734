"""A name a moved def reads through `import a.b` (which binds `a` and loads `a.b`): carried as that import,
into the def's body where the destination binds the name itself, at the destination's top otherwise. Compared
with runtime patching in every way a run may use the tree, for every condition value."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, compare

SUBMODULE_IMPORT_TARGETS = """
import json

from megatron.calls import LOG


def encode(x):
    LOG.append("megatron.encode")
    return json.dumps(x)


def decode(text):
    LOG.append("megatron.decode")
    return text
"""

SUBMODULE_IMPORT_PATCH = """
import json.decoder

from megatron.calls import LOG


def encode(x):
    LOG.append("mindspeed.encode")
    return json.dumps([x]) + json.decoder.JSONDecodeError.__name__


def decode(text):
    LOG.append("mindspeed.decode")
    try:
        return json.loads(text)
    except json.decoder.JSONDecodeError as exc:
        return type(exc).__module__


def parse(text):
    LOG.append("mindspeed.parse")
    return json.decoder.JSONDecoder().decode(text)
"""


def test_a_name_bound_by_importing_a_submodule_is_carried_as_written(tmp_path):
    """`import json.decoder` binds `json` (and loads json.decoder): a moved def that reads `json` carries that
    import, into its body where the destination binds `json` itself, at the destination's top otherwise."""
    scenario = Scenario(
        "import a.b",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/codec.py": SUBMODULE_IMPORT_TARGETS,
            "Megatron-LM/megatron/core/plain.py": "def parse(text):\n    return text\n",
            "MindSpeed/mindspeed/core/__init__.py": "",
            "MindSpeed/mindspeed/core/codec.py": SUBMODULE_IMPORT_PATCH,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core import codec, plain
    return [codec.encode(1), codec.decode("[2]"), codec.decode("{"), plain.parse("[3]")]
""",
        },
        {
            "megatron.core.codec.encode": [{"patch_import": "mindspeed.core.codec.encode", "condition": ["args.a"]}],
            "megatron.core.codec.decode": [{"patch_import": "mindspeed.core.codec.decode"}],
            "megatron.core.plain.parse": [{"patch_import": "mindspeed.core.codec.parse"}],
        },
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {(p["target"], p["strategy"]) for p in report["patches"]} == {
        ("megatron.core.codec.encode", "in-source"),
        ("megatron.core.codec.decode", "in-source"),
        ("megatron.core.plain.parse", "in-source"),
    }
    codec = (tmp_path / "fused/Megatron-LM/megatron/core/codec.py").read_text()
    assert codec.count("    import json.decoder\n") == 2  # the destination binds json itself: into the bodies
    plain = (tmp_path / "fused/Megatron-LM/megatron/core/plain.py").read_text()
    assert plain.startswith("import json.decoder\n")  # nothing there binds json: carried to the top
