"""The tree as collect reads it: which binding of a name a module holds, and which module a file is."""

from __future__ import annotations

import ast
import os

from patchmerge.collection import collect
from patchmerge.collection.entered import functions_entered
from patchmerge.collection.scope import Sources, pick
from patchmerge.profile import profile_from_dict
from tests.collection.conftest import FILES, PROFILE, write_tree
from tests.collection.test_collect import records
from tests.collection.test_entered import ENTRY, FEATURES, PARSE, _profile

HANDLER_TWICE = """
try:
    import some_package_not_installed
except ImportError:
    MODE = 'x'
    MODE = 'y'

class Adaptation:
    @classmethod
    def execute(cls):
        from mindspeed.ops import f_impl, g_impl
        if MODE == 'y':
            Adaptation.register('megatron.core.mod.f', f_impl)
        else:
            Adaptation.register('megatron.core.mod.g', g_impl)
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
"""


def test_a_name_bound_twice_in_one_except_handler_holds_the_last_value(tmp_path):
    files = {**FILES, "MindSpeed-LLM/mindspeed_llm/adaptor.py": HANDLER_TWICE}
    result = collect(write_tree(tmp_path / "r", files), profile_from_dict(PROFILE))
    assert [p.target for p in result.patch_set.patches] == ["megatron.core.mod.f"]


def test_an_entry_given_as_an_absolute_path_under_root_dir_runs(tmp_path):
    root = write_tree(tmp_path / "r", FILES)
    relative = collect(root, profile_from_dict(PROFILE))
    entry = f"{root}/MindSpeed-LLM/mindspeed_llm/adaptor.py::Adaptation.execute"
    absolute = collect(root, profile_from_dict({**PROFILE, "collect": {**PROFILE["collect"], "entry": [entry]}}))
    assert records(absolute) == records(relative)


def test_a_symlinked_source_root_names_the_files_the_walk_entered(tmp_path):
    """The walk's files are read on disk, through the link: a call it cannot follow there is still a doubt."""
    parse = PARSE.replace("    Manager.register_args(parser)\n",
                          "    for feature in plugins.discover():\n        feature.register_args(parser)\n")
    real = write_tree(tmp_path / "real", {
        "mindspeed_llm/__init__.py": "",
        "mindspeed_llm/features.py": FEATURES,
        "mindspeed_llm/parse.py": "import plugins\n" + parse,
    })
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(real, root / "MindSpeed-LLM", target_is_directory=True)
    entered = functions_entered(root, _profile(), ENTRY, [ast.parse(FEATURES)])
    assert any("parse.py" in doubt and "did not follow" in doubt for doubt in entered.doubts)


SAME_LINE = """
from mindspeed.ops import f_impl, g_impl
try:
    from mindspeed.fast import f_impl as PATCH
except ImportError:
    PATCH = g_impl
PATCH = f_impl; PATCH = g_impl
if MODE:
    from mindspeed.more import *
"""


def test_collect_reads_a_module_s_bindings_from_its_index_with_the_statements_that_bind(tmp_path):
    """The source model's index says what a module binds; collect finds each binding's statement in its own parse,
    two on one line included, in source order."""
    root = write_tree(tmp_path / "r", {**FILES, "MindSpeed/mindspeed/mod.py": SAME_LINE})
    sources = Sources(root, PROFILE["sources"]["roots"], PROFILE["sources"]["rewritable"])
    table = sources.bindings("mindspeed.mod")
    index = sources.tree.module_index("mindspeed.mod")
    assert index is not None
    assert sorted(table) == sorted({b.name or "*" for b in index.bindings})
    assert [(b.node.lineno, b.handler) for b in table["PATCH"]] == [(4, False), (6, True), (7, False), (7, False)]
    assert [ast.unparse(b.node) for b in table["PATCH"][2:]] == ["PATCH = f_impl", "PATCH = g_impl"]
    assert ast.unparse(pick(table["PATCH"]).node) == "PATCH = g_impl"
    assert [ast.unparse(b.node) for b in table["*"]] == ["from mindspeed.more import *"]
