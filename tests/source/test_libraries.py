"""The libraries a tree may count on: those the profile lists and those its roots' requirements files name."""

from __future__ import annotations

import pytest

from patchmerge.source.libraries import installed_libraries, requirement_name


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("einops", "einops"),
        ("numpy<=1.26.0", "numpy"),
        ("transformers>=4.43.2  # pinned for the tokenizer", "transformers"),
        ("PyYAML", "yaml"),
        ("scikit-learn", "sklearn"),
        ("antlr4-python3-runtime==4.11", "antlr4_python3_runtime"),
        ("zope.interface", "zope_interface"),
        ("  # a comment", None),
        ("-r requirements_base.txt", None),
        ("git+https://github.com/NVIDIA/apex.git", None),
        ("importlib-metadata; python_version < '3.8'", None),
        ("peft[test]>=0.10", "peft"),
        ("", None),
    ],
)
def test_a_requirements_line_names_the_library_it_installs(line, name):
    assert requirement_name(line) == name


def test_the_libraries_are_the_profiles_and_those_the_roots_require(tmp_path):
    (tmp_path / "Megatron-LM").mkdir()
    (tmp_path / "Megatron-LM" / "requirements_mlm.txt").write_text("einops\nregex\n")
    (tmp_path / "MindSpeed").mkdir()
    (tmp_path / "MindSpeed" / "requirements.txt").write_text("pyyaml\n# numpy\n")
    (tmp_path / "MindSpeed" / "sub").mkdir()
    (tmp_path / "MindSpeed" / "sub" / "requirements.txt").write_text("scipy\n")  # not at the top of a root
    found = installed_libraries(tmp_path, ["Megatron-LM", "MindSpeed", "Missing"], ["torch"])
    assert found == {"torch", "einops", "regex", "yaml"}
