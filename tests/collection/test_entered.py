"""Which defs a call of the adaptor enters: the features in its list register their options, the others not;
where the walk may have missed a call that adds options, it says so rather than narrowing."""

from __future__ import annotations

import ast

import pytest

from patchmerge.collection.entered import functions_entered
from patchmerge.profile import profile_from_dict
from tests.collection.conftest import PROFILE, write_tree

FEATURES = """
class Feature:
    def register_args(self, parser):
        pass


class Listed(Feature):
    def register_args(self, parser):
        super().register_args(parser)
        parser.add_argument('--listed')


class Unlisted(Feature):
    def register_args(self, parser):
        parser.add_argument('--unlisted')


class Manager:
    FEATURES = []

    @classmethod
    def set_features(cls, features):
        cls.FEATURES[:] = features

    @classmethod
    def register_args(cls, parser):
        for feature in cls.FEATURES:
            feature.register_args(parser)


Manager.set_features([Listed()])
"""

PARSE = """
import argparse

from mindspeed_llm.features import Manager


def get_args():
    parser = argparse.ArgumentParser()
    Manager.register_args(parser)
    return parser.parse_known_args()
"""

ENTRY = "MindSpeed-LLM/mindspeed_llm/parse.py::get_args"


def _root(tmp_path, parse: str = PARSE):
    return write_tree(tmp_path / "root", {
        "MindSpeed-LLM/mindspeed_llm/__init__.py": "",
        "MindSpeed-LLM/mindspeed_llm/features.py": FEATURES,
        "MindSpeed-LLM/mindspeed_llm/parse.py": parse,
    })


def _profile():
    return profile_from_dict(dict(PROFILE, collect=dict(PROFILE["collect"], entry=[
        "MindSpeed-LLM/mindspeed_llm/features.py"])))


def _line(root, text: str) -> int:
    lines = (root / "MindSpeed-LLM/mindspeed_llm/features.py").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_the_listed_features_register_args_are_entered_the_others_not(tmp_path):
    root = _root(tmp_path)
    entered = functions_entered(root, _profile(), ENTRY, [ast.parse(FEATURES)])
    features = "MindSpeed-LLM/mindspeed_llm/features.py"
    assert entered.doubts == []
    listed = (features, _line(root, "super().register_args") - 1)
    unlisted = (features, _line(root, "'--unlisted'") - 1)
    base = (features, _line(root, "pass") - 1)
    assert listed in entered.defs and base in entered.defs  # through super() too
    assert unlisted not in entered.defs


def test_a_call_by_a_watched_name_it_cannot_follow_is_a_doubt(tmp_path):
    parse = PARSE.replace("    Manager.register_args(parser)\n",
                          "    for feature in plugins.discover():\n        feature.register_args(parser)\n")
    root = _root(tmp_path, "import plugins\n" + parse)
    entered = functions_entered(root, _profile(), ENTRY, [ast.parse(FEATURES)])
    assert any("parse.py" in doubt and "did not follow" in doubt for doubt in entered.doubts)


def test_an_entry_that_is_no_function_is_a_lookup_error(tmp_path):
    with pytest.raises(LookupError, match="get_parser"):
        functions_entered(_root(tmp_path), _profile(), ENTRY.replace("get_args", "get_parser"), [])


# ways a walk can miss a def that runs: each must be a doubt, never a narrower parse
MISSED = {
    "comprehension": "    [f.register_args(parser) for f in Manager.FEATURES]\n",
    "lambda": "    list(map(lambda f: f.register_args(parser), Manager.FEATURES))\n",
    "delegated": "    for f in sorted(Manager.FEATURES, key=str):\n        f.setup(parser)\n",
    "recursion": "    _register(Listed(), parser)\n",
    "branch not taken": "    _enable()\n    if ENABLED:\n        Listed().register_args(parser)\n",
}

MISSED_HELPERS = """

def _register(feature, parser):
    feature.register_args(parser)
    for sub in getattr(feature, 'subs', []):
        _register(sub, parser)


ENABLED = False


def _enable():
    global ENABLED
    ENABLED = True
"""


@pytest.mark.parametrize("how", sorted(MISSED))
def test_each_way_a_walk_can_miss_a_def_is_a_doubt(tmp_path, how):
    features = FEATURES.replace("class Unlisted(Feature):", "    def setup(self, parser):\n"
                                "        self.register_args(parser)\n\n\nclass Unlisted(Feature):")
    parse = PARSE.replace("    Manager.register_args(parser)\n", MISSED[how]) + MISSED_HELPERS
    parse = parse.replace("import Manager", "import Listed, Manager")
    root = write_tree(tmp_path / "root", {
        "MindSpeed-LLM/mindspeed_llm/__init__.py": "",
        "MindSpeed-LLM/mindspeed_llm/features.py": features,
        "MindSpeed-LLM/mindspeed_llm/parse.py": parse,
    })
    entered = functions_entered(root, _profile(), ENTRY, [ast.parse(features)])
    assert entered.doubts, how
