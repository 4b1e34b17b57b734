"""StaticResolver on module-level names: re-exports, imports of every shape, variables, missing names."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchmerge.model import DefKind, Unresolved
from patchmerge.resolution import StaticResolver
from patchmerge.source.tree import SourceTree
from tests.conftest import write_tree
from tests.resolution.conftest import line_of

FUNCS = "A/pkg/impl/functions.py"


def test_reexport_chain_through_two_init_files(resolver: StaticResolver, root: Path) -> None:
    d = resolver.resolve("pkg.api")
    assert d.kind is DefKind.FUNCTION
    assert (d.module, d.qualname, d.name) == ("pkg.impl.functions", "api", "api")
    assert d.file == Path(FUNCS)
    assert d.line == line_of(root, FUNCS, "def api")
    assert d.via == ("pkg.api", "pkg.sub.api")  # pkg/__init__ -> pkg/sub/__init__ (`..` relative) -> def
    assert d.dotted == "pkg.api"


def test_quotes_around_the_target_are_ignored(resolver: StaticResolver) -> None:
    assert resolver.resolve("'pkg.api'").module == "pkg.impl.functions"
    assert resolver.resolve(' "pkg.api" ').module == "pkg.impl.functions"


def test_quotes_follow_the_patch_file_rule(resolver: StaticResolver) -> None:
    # one rule for both (formats.records.strip_quotes): only a matching pair around the name is removed
    with pytest.raises(Unresolved, match="not a dotted Python name"):
        resolver.resolve("'pkg.api")


def test_direct_definition_has_no_via(resolver: StaticResolver) -> None:
    d = resolver.resolve("pkg.impl.functions.api")
    assert d.via == () and d.kind is DefKind.FUNCTION


def test_relative_import_with_alias(resolver: StaticResolver, root: Path) -> None:
    d = resolver.resolve("pkg.impl.functions.renamed")  # from .helpers import helper as renamed
    assert (d.module, d.qualname, d.name) == ("pkg.impl.helpers", "helper", "helper")
    assert d.via == ("pkg.impl.functions.renamed",)
    assert d.file == Path("A/pkg/impl/helpers.py") and d.line == 1


def test_import_module_as_alias_then_attribute(resolver: StaticResolver) -> None:
    d = resolver.resolve("pkg.impl.functions.hh.helper")  # import pkg.impl.helpers as hh
    assert (d.kind, d.module, d.qualname) == (DefKind.FUNCTION, "pkg.impl.helpers", "helper")
    assert d.via == ("pkg.impl.functions.hh",)


def test_from_package_import_submodule(resolver: StaticResolver) -> None:
    # pkg/__init__ never binds `classes`: `from pkg import classes` gets the submodule
    d = resolver.resolve("pkg.users.u6.classes.Base")
    assert (d.kind, d.module, d.qualname) == (DefKind.CLASS, "pkg.classes", "Base")
    assert d.via == ("pkg.users.u6.classes",)


def test_from_dot_import_submodule_in_own_init(resolver: StaticResolver) -> None:
    d = resolver.resolve("pkg.sub.leaf.leaf_fn")
    assert d.module == "pkg.sub.leaf" and d.kind is DefKind.FUNCTION


def test_star_import_without_all_exports_public_names_only(resolver: StaticResolver) -> None:
    d = resolver.resolve("pkg.public")
    assert (d.kind, d.module, d.via) == (DefKind.FUNCTION, "pkg.core", ("pkg.public",))
    assert resolver.resolve("pkg._private").kind is DefKind.MISSING


def test_star_import_respects_literal_all(resolver: StaticResolver) -> None:
    assert resolver.resolve("pkg.exported").module == "pkg.starred"
    missing = resolver.resolve("pkg.not_exported")
    assert missing.kind is DefKind.MISSING and missing.module == "pkg"


def test_last_binding_wins(resolver: StaticResolver, root: Path) -> None:
    d = resolver.resolve("pkg.impl.functions.twice")
    assert d.line == line_of(root, FUNCS, "return 2") - 1


def test_module_variable(resolver: StaticResolver, root: Path) -> None:
    d = resolver.resolve("pkg.impl.functions.ops")
    assert (d.kind, d.module, d.qualname, d.name) == (DefKind.VARIABLE, "pkg.impl.functions", "ops", "ops")
    assert d.line == line_of(root, FUNCS, "ops = None")


def test_assignment_from_a_name_takes_its_name(resolver: StaticResolver) -> None:
    d = resolver.resolve("pkg.impl.functions.LayerImpl")  # LayerImpl = api
    assert d.kind is DefKind.VARIABLE and d.qualname == "LayerImpl"
    assert d.name == "api"  # the object's __name__: what the wrapper rule looks at
    assert any("assigned from api" in n for n in d.notes)


def test_binding_under_if_counts_and_is_noted(resolver: StaticResolver, root: Path) -> None:
    d = resolver.resolve("pkg.impl.functions.X")
    assert d.line == line_of(root, FUNCS, "X = 2")
    assert any("in the else branch of the if" in n and "`X = 1`" in n for n in d.notes)


def test_try_import_from_outside_the_tree_is_a_variable(resolver: StaticResolver, root: Path) -> None:
    d = resolver.resolve("pkg.optional.FusedNorm")
    assert (d.kind, d.module, d.qualname) == (DefKind.VARIABLE, "pkg.optional", "FusedNorm")
    assert d.file == Path("A/pkg/optional.py")
    assert d.line == line_of(root, "A/pkg/optional.py", "from apex")
    text = " ".join(d.notes)
    assert "bound by import from apex.normalization" in text
    assert "FusedNorm = None" in text  # both alternatives named


def test_try_import_inside_the_tree_follows_the_try_body(resolver: StaticResolver) -> None:
    d = resolver.resolve("pkg.optional.FastApi")
    assert (d.kind, d.module, d.qualname) == (DefKind.FUNCTION, "pkg.impl.functions", "api")
    assert d.via == ("pkg.optional.FastApi",)
    assert any("try block" in n and "FastApi = None" in n for n in d.notes)


def test_type_checking_imports_do_not_bind(resolver: StaticResolver) -> None:
    assert resolver.resolve("pkg.optional.only_typing").kind is DefKind.MISSING


def test_names_imported_from_outside(resolver: StaticResolver) -> None:
    d = resolver.resolve("pkg.optional.TorchModule")
    assert (d.kind, d.module, d.name) == (DefKind.VARIABLE, "pkg.optional", "Module")
    assert "bound by import from torch.nn" in d.notes
    mod = resolver.resolve("pkg.optional.torch")
    assert mod.kind is DefKind.VARIABLE and "bound by import of module torch" in mod.notes


def test_module_kind(resolver: StaticResolver) -> None:
    d = resolver.resolve("pkg.impl")
    assert (d.kind, d.module, d.file) == (DefKind.MODULE, "pkg.impl", Path("A/pkg/impl/__init__.py"))


def test_missing_function_in_existing_module(resolver: StaticResolver) -> None:
    d = resolver.resolve("pkg.impl.functions.brand_new")
    assert (d.kind, d.module, d.qualname, d.file) == (DefKind.MISSING, "pkg.impl.functions", "brand_new",
                                                       Path(FUNCS))
    assert d.line is None


def test_first_source_root_wins(resolver: StaticResolver, tree: SourceTree) -> None:
    d = resolver.resolve("dup.m.f")
    assert d.file == Path("A/dup/m.py") and d.line == 1
    assert resolver.resolve("bonly.h").file == Path("B/bonly.py")
    # `dup` is a regular package in A, so its __path__ is A/dup only, as at runtime
    with pytest.raises(Unresolved) as err:
        resolver.resolve("dup.only_b.g")
    assert "module dup has no name 'only_b'" in err.value.reason


@pytest.mark.parametrize(
    ("dotted", "reason"),
    [
        ("nomod.x", "no module 'nomod' under source roots A, B"),
        ("pkg.impl.nosuch.f", "module pkg.impl has no name 'nosuch' (and no submodule of that name)"),
        ("pkg.classes.NoSuchClass.method", "module pkg.classes has no name 'NoSuchClass'"),
        ("pkg.optional.FusedNorm.apply", "pkg.optional.FusedNorm is a variable (bound by import from "
                                         "apex.normalization); its member 'apply' cannot be read from source"),
        ("pkg.impl.functions.ops.gmm", "pkg.impl.functions.ops is a variable"),
        ("not a name", "not a dotted Python name"),
    ],
)
def test_unresolved_reasons(resolver: StaticResolver, dotted: str, reason: str) -> None:
    with pytest.raises(Unresolved) as err:
        resolver.resolve(dotted)
    assert err.value.dotted == dotted
    assert reason in err.value.reason


def test_unresolved_is_cached_and_raised_again(resolver: StaticResolver) -> None:
    for _ in range(2):
        with pytest.raises(Unresolved):
            resolver.resolve("nomod.x")


def test_import_cycle_is_reported(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"R/a.py": "from b import x\n", "R/b.py": "from a import x\n"})
    with pytest.raises(Unresolved) as err:
        StaticResolver(SourceTree(root, ["R"])).resolve("a.x")
    assert "import cycle" in err.value.reason


def test_syntax_error_is_reported_with_the_file(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"R/bad.py": "def f(:\n"})
    with pytest.raises(Unresolved) as err:
        StaticResolver(SourceTree(root, ["R"])).resolve("bad.f")
    assert "cannot parse R/bad.py: syntax error line 1" in err.value.reason


def test_broken_try_body_import_falls_back_to_the_handler(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "R/a.py": "try:\n    from b import gone\nexcept ImportError:\n    gone = None\n",
        "R/b.py": "x = 1\n",
    })
    d = StaticResolver(SourceTree(root, ["R"])).resolve("a.gone")
    assert (d.kind, d.line) == (DefKind.VARIABLE, 4)
    assert any("except handler" in n for n in d.notes)


def test_decorated_function_name_and_note(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"R/m.py": """
        import functools
        import torch


        @torch.no_grad()
        def step():
            pass


        @functools.cache
        def cached():
            pass
    """})
    r = StaticResolver(SourceTree(root, ["R"]))
    d = r.resolve("m.step")
    assert d.name == "step" and d.decorators == ("torch.no_grad()",)
    assert "decorator @torch.no_grad() may change __name__" in d.notes
    assert r.resolve("m.cached").decorators == ("functools.cache",)


def test_an_assignment_reads_the_name_as_bound_above_it(tmp_path: Path) -> None:
    """`_first = f` then `f = g`: top-level code runs in order, so `_first` is the first f (a merge writes
    this when two moved defs share a name: each keeps its own __name__)."""
    source = (
        "def wrapper(fn):\n    return fn\n\n\n_first = wrapper\n\n\n"
        "def wrapper(fn):\n    return fn\n\n\n_second = wrapper\nwrapper = _first\n"
    )
    root = write_tree(tmp_path, {"R/m.py": source})
    resolver = StaticResolver(SourceTree(root, ["R"]))
    assert resolver.resolve("m._second").name == "wrapper"  # not `_first`, which `wrapper` is bound to last
    assert resolver.resolve("m._first").name == "wrapper"
    assert resolver.resolve("m.wrapper").name == "wrapper"
    assert "assigned from wrapper (m.wrapper)" in " ".join(resolver.resolve("m._second").notes)
