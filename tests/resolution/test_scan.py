"""importers_of / subclasses_of over the rewritable packages."""

from __future__ import annotations

from pathlib import Path

from patchmerge.resolution import ImportSite, StaticResolver
from patchmerge.source.tree import SourceTree
from tests.conftest import write_tree


def test_importers_of_literal_sites(resolver: StaticResolver) -> None:
    sites = resolver.scan.importers_of("pkg.impl.functions", "api")
    assert sites == [
        ImportSite("pkg.optional", "FastApi", Path("A/pkg/optional.py"), 12, False),
        ImportSite("pkg.sub", "api", Path("A/pkg/sub/__init__.py"), 1, False),  # `from ..impl.functions`
        ImportSite("pkg.users.u1", "api", Path("A/pkg/users/u1.py"), 1, False),
        ImportSite("pkg.users.u2", "my_api", Path("A/pkg/users/u2.py"), 1, False),
        ImportSite("pkg.users.u3", "api", Path("A/pkg/users/u3.py"), 2, True),  # inside a function
        ImportSite("pkg.users.u4", "api", Path("A/pkg/users/u4.py"), 1, False),  # star import exports it
    ]


def test_importers_of_skips_type_checking_and_other_modules(resolver: StaticResolver) -> None:
    assert resolver.scan.importers_of("pkg.impl.helpers", "helper") == [
        ImportSite("pkg.impl.functions", "renamed", Path("A/pkg/impl/functions.py"), 2, False)
    ]
    assert resolver.scan.importers_of("pkg.impl.functions", "nothing") == []


def test_importers_of_transitive_follows_reexports(resolver: StaticResolver) -> None:
    sites = resolver.scan.importers_of("pkg.impl.functions", "api", transitive=True)
    modules = {(s.module, s.local_name) for s in sites}
    # u5 imports it from `pkg`, pkg/__init__ from `.sub`: the same object under the same name
    assert {("pkg.users.u5", "api"), ("pkg", "api"), ("pkg.sub", "api"), ("pkg.users.u2", "my_api")} <= modules
    assert ("pkg.users.u4", "api") in modules
    # the re-export module can be the starting point too
    assert {(s.module, s.local_name) for s in resolver.scan.importers_of("pkg", "api", transitive=True)} == modules


def test_subclasses_of_direct_and_transitive(resolver: StaticResolver) -> None:
    assert resolver.scan.subclasses_of("pkg.classes", "Base") == [("pkg.classes", "Child"), ("pkg.users.u6", "Sub2")]
    assert resolver.scan.subclasses_of("pkg.classes", "Child") == [
        ("pkg.classes", "MultiLevel"), ("pkg.users.u6", "Sub")]
    everything = resolver.scan.subclasses_of("pkg.classes", "Base", transitive=True)
    assert set(everything) == {("pkg.classes", "Child"), ("pkg.users.u6", "Sub2"), ("pkg.classes", "MultiLevel"),
                               ("pkg.users.u6", "Sub")}
    assert resolver.scan.subclasses_of("pkg.classes", "Config") == [("pkg.classes", "SubConfig")]


def test_subclasses_of_through_a_reexported_name(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "R/lib/__init__.py": "from .base import Base\n",
        "R/lib/base.py": "class Base:\n    pass\n",
        "R/lib/user.py": "from lib import Base\n\n\nclass User(Base):\n    pass\n",
    })
    r = StaticResolver(SourceTree(root, ["R"], ["lib"]))
    assert r.scan.subclasses_of("lib", "Base") == [("lib.user", "User")]
    assert r.scan.subclasses_of("lib.base", "Base") == [("lib.user", "User")]


def test_scan_only_covers_rewritable_packages(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "R/lib/__init__.py": "",
        "R/lib/f.py": "def f():\n    pass\n",
        "R/other/__init__.py": "",
        "R/other/user.py": "from lib.f import f\n",
    })
    tree = SourceTree(root, ["R"], ["lib"])
    assert StaticResolver(tree).scan.importers_of("lib.f", "f") == []
    assert all("other" not in p.parts for p in tree.files_read)


def test_scan_survives_a_broken_file(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "R/lib/__init__.py": "",
        "R/lib/bad.py": "def (:\n",
        "R/lib/good.py": "from lib.f import f\n",
        "R/lib/f.py": "def f():\n    pass\n",
    })
    r = StaticResolver(SourceTree(root, ["R"], ["lib"]))
    assert [s.module for s in r.scan.importers_of("lib.f", "f")] == ["lib.good"]
    assert "syntax error line 1" in r.scan.errors["lib.bad"]


def test_captures_of_finds_import_time_reads_under_any_name(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "R/lib/__init__.py": "from .norm import Norm\n",
        "R/lib/norm.py": "class Norm:\n    pass\n\n\nImpl = Norm\n",
        "R/lib/spec.py": "from lib import Norm as N\n\nSPEC = dict(norm=N)\nLATER = dict(norm=lambda: N)\n",
        "R/lib/wrapped.py": "from lib.norm import Norm\n\nNorm = wrap(Norm)\nAgain = Norm\n",
        "R/lib/other.py": "class Norm:\n    pass\n\n\nX = Norm\n",
    })
    r = StaticResolver(SourceTree(root, ["R"], ["lib"]))
    got = [(c.module, c.bound, c.line, c.simple) for c in r.scan.captures_of("lib", "Norm")]
    assert got == [
        ("lib.norm", "Impl", 5, True),
        ("lib.spec", "SPEC", 3, False),
        ("lib.wrapped", "Norm", 3, False),  # `Norm` read before the line rebinds it; `Again` reads the wrapped one
    ]
    assert r.scan.captures_of("lib.other", "Norm")[0].text == "X = Norm"
