"""SourceTree: module -> file as the import system finds it, lazy indexes, the disk cache, preload."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from patchmerge.resolution import StaticResolver
from patchmerge.source import tree as tree_module
from patchmerge.source.tree import SourceError, SourceTree
from tests.conftest import write_tree


def test_module_file_and_package(tree: SourceTree, root: Path) -> None:
    assert tree.module_file("pkg") == root / "A/pkg/__init__.py"
    assert tree.module_file("pkg.impl.functions") == root / "A/pkg/impl/functions.py"
    assert tree.is_package("pkg.impl") and not tree.is_package("pkg.impl.functions")
    assert tree.module_file("pkg.impl.nothing") is None and not tree.exists("pkg.impl.nothing")
    assert tree.module_file("pkg.impl.functions.api") is None  # not a package: no submodules


def test_first_root_wins_and_regular_packages_do_not_merge(tree: SourceTree, root: Path) -> None:
    assert tree.module_file("dup.m") == root / "A/dup/m.py"
    assert not tree.exists("dup.only_b")  # dup's __path__ is A/dup only
    assert tree.module_file("bonly") == root / "B/bonly.py"
    assert not tree.exists("pkg.from_b")  # B/pkg has no __init__: a portion shadowed by the package in A


def test_namespace_packages_span_roots(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"A/ns/a.py": "x = 1\n", "B/ns/b.py": "y = 2\n"})
    tree = SourceTree(root, ["A", "B"])
    assert tree.exists("ns") and tree.module_file("ns") is None and tree.is_package("ns")
    assert tree.module_file("ns.a") == root / "A/ns/a.py"
    assert tree.module_file("ns.b") == root / "B/ns/b.py"
    idx = tree.module_index("ns")
    assert idx is not None and idx.file is None and idx.bindings == ()


def test_regular_package_in_a_later_root_beats_a_namespace_portion(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"A/p/x.py": "", "B/p/__init__.py": "", "B/p/y.py": ""})
    tree = SourceTree(root, ["A", "B"])
    assert tree.module_file("p") == root / "B/p/__init__.py"
    assert tree.exists("p.y") and not tree.exists("p.x")


def test_package_directory_beats_module_file(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"R/m/__init__.py": "", "R/m.py": ""})
    assert SourceTree(root, ["R"]).module_file("m") == root / "R/m/__init__.py"


def test_module_index_is_lazy_and_kept(tree: SourceTree, root: Path) -> None:
    assert tree.files_read == set()
    idx = tree.module_index("pkg.impl.helpers")
    assert idx is not None and idx.module == "pkg.impl.helpers" and not idx.is_package
    assert tree.files_read == {root / "A/pkg/impl/helpers.py"}
    assert tree.module_index("pkg.impl.helpers") is idx
    assert tree.module_index("pkg.nothing") is None


def test_resolving_reads_only_the_files_on_the_way(resolver: StaticResolver, tree: SourceTree, root: Path) -> None:
    resolver.resolve("pkg.impl.functions.renamed")
    # package __init__ files on the module path are located, not parsed: nothing in them is needed
    assert tree.files_read == {root / "A/pkg/impl/functions.py", root / "A/pkg/impl/helpers.py"}


def test_a_file_parsed_for_its_statements_is_indexed_from_that_parse(
    tree: SourceTree, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """collect reads statements and the index alike: one parse of the file serves both."""
    path = root / "A/pkg/impl/helpers.py"
    syntax = tree.syntax(path)
    assert tree.syntax(path) is syntax

    def parse_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed the file a second time")

    monkeypatch.setattr("patchmerge.source.tree.summarize", parse_again)
    index = tree.module_index("pkg.impl.helpers")
    assert index is not None
    lines = {(st.lineno, st.col_offset) for st in syntax.body}
    assert index.bindings and all((b.line, b.column) in lines for b in index.bindings)


def test_unparsable_file_raises_source_error(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"R/bad.py": "x = (\n"})
    with pytest.raises(SourceError) as err:
        SourceTree(root, ["R"]).module_index("bad")
    assert err.value.path == root / "R/bad.py" and "syntax error" in err.value.message


def test_rewritable_modules(tree: SourceTree) -> None:
    mods = tree.rewritable_modules()
    assert mods[0] == "pkg"
    assert {"pkg.impl.functions", "pkg.sub.leaf", "pkg.users.u6", "pkg.classes"} <= set(mods)
    assert not any(m.startswith("dup") or m == "pkg.from_b" for m in mods)


def _age(root: Path) -> None:
    """Make every file look old, so the cache's stat index trusts it (fresh files are 'racy')."""
    past = time.time() - 3600
    for path in root.rglob("*.py"):
        os.utime(path, (past, past))


def test_disk_cache_second_scan_reads_no_source_file(root: Path, tmp_path: Path) -> None:
    _age(root)
    cache = tmp_path / "cache"
    first = SourceTree(root, ["A", "B"], ["pkg"], cache_dir=cache)
    sites = StaticResolver(first).scan.importers_of("pkg.impl.functions", "api")
    assert len(first.files_read) == len(list((root / "A/pkg").rglob("*.py")))

    second = SourceTree(root, ["A", "B"], ["pkg"], cache_dir=cache)
    assert StaticResolver(second).scan.importers_of("pkg.impl.functions", "api") == sites
    assert second.files_read == set() and second.files_opened == set()  # nothing parsed, nothing even read
    assert second.files_cached == first.files_read

    # an edited file is noticed (stat changed), re-parsed alone, and its new content is what counts
    edited = root / "A/pkg/users/u1.py"
    edited.write_text("from pkg.impl.functions import api as renamed_api\n")
    third = SourceTree(root, ["A", "B"], ["pkg"], cache_dir=cache)
    local = [s.local_name for s in StaticResolver(third).scan.importers_of("pkg.impl.functions", "api")
             if s.module == "pkg.users.u1"]
    assert local == ["renamed_api"] and third.files_read == {edited}


def test_disk_cache_is_keyed_by_content_not_path(tmp_path: Path) -> None:
    src = {"R/a.py": "def f():\n    pass\n"}
    cache = tmp_path / "cache"
    one = SourceTree(write_tree(tmp_path / "one", src), ["R"], cache_dir=cache)
    one.module_index("a")
    two = SourceTree(write_tree(tmp_path / "two", src), ["R"], cache_dir=cache)  # a copy elsewhere
    two.module_index("a")
    assert two.files_read == set() and len(two.files_cached) == 1


def test_corrupt_cache_entry_is_rebuilt(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "root", {"R/a.py": "x = 1\n"})
    cache = tmp_path / "cache"
    SourceTree(root, ["R"], cache_dir=cache).module_index("a")
    for entry in cache.rglob("*.pkl"):
        entry.write_bytes(b"not a pickle")
    tree = SourceTree(root, ["R"], cache_dir=cache)
    idx = tree.module_index("a")
    assert idx is not None and [b.name for b in idx.bindings] == ["x"] and len(tree.files_read) == 1


def test_preload_in_worker_processes_matches_serial(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial = SourceTree(root, ["A", "B"], ["pkg"])
    serial.preload(serial.rewritable_modules(), workers=1)
    monkeypatch.setattr(tree_module, "PARALLEL_MIN_FILES", 1)
    parallel = SourceTree(root, ["A", "B"], ["pkg"])
    errors = parallel.preload(parallel.rewritable_modules(), workers=2)
    assert errors == {}
    for module in serial.rewritable_modules():
        a, b = serial.module_index(module), parallel.module_index(module)
        assert a is not None and b is not None and a.summary == b.summary
    assert parallel.files_read == serial.files_read


def test_preload_reports_broken_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tree(tmp_path, {"R/lib/__init__.py": "", "R/lib/bad.py": "def (:\n"})
    monkeypatch.setattr(tree_module, "PARALLEL_MIN_FILES", 1)
    tree = SourceTree(root, ["R"], ["lib"])
    errors = tree.preload(tree.rewritable_modules(), workers=2)  # the error crosses the process boundary
    assert list(errors) == ["lib.bad"] and errors["lib.bad"].path == root / "R/lib/bad.py"


def test_too_deeply_nested_source_is_a_source_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tree(tmp_path, {"R/deep.py": "x = " + "-" * 100_000 + "1\n", "R/other.py": "y = 1\n"})
    with pytest.raises(SourceError, match="nested too deeply"):
        SourceTree(root, ["R"]).module_index("deep")

    def overflow(data: bytes, filename: str) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(tree_module, "summarize", overflow)
    with pytest.raises(SourceError, match="nested too deeply"):
        SourceTree(root, ["R"]).module_index("other")


class _FailingPool:
    error: BaseException = OSError("no processes here")

    def __init__(self, workers: int) -> None:
        raise self.error


def test_failing_process_pool_falls_back_to_serial_with_a_warning(
    root: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from concurrent.futures.process import BrokenProcessPool

    monkeypatch.setattr(tree_module, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(tree_module, "ProcessPoolExecutor", _FailingPool)
    for error in (OSError("no processes here"), BrokenProcessPool("a worker died")):
        monkeypatch.setattr(_FailingPool, "error", error)
        caplog.clear()
        tree = SourceTree(root, ["A", "B"], ["pkg"])
        with caplog.at_level("WARNING", logger=tree_module.__name__):
            assert tree.preload(tree.rewritable_modules(), workers=2) == {}
        assert tree.module_index("pkg.impl.functions") is not None
        assert any("parsing serially" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_a_bug_inside_the_process_pool_is_not_swallowed(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree_module, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(tree_module, "ProcessPoolExecutor", _FailingPool)
    monkeypatch.setattr(_FailingPool, "error", TypeError("a programming error"))
    tree = SourceTree(root, ["A", "B"], ["pkg"])
    with pytest.raises(TypeError, match="a programming error"):
        tree.preload(tree.rewritable_modules(), workers=2)


def test_disk_cache_keeps_captures_and_ignores_other_layouts(tmp_path: Path) -> None:
    from patchmerge.source.index import INDEX_VERSION

    root = write_tree(tmp_path / "root", {"R/lib/__init__.py": "", "R/lib/a.py": "def f():\n    pass\n\n\nG = f\n"})
    _age(root)
    cache = tmp_path / "cache"
    first = SourceTree(root, ["R"], ["lib"], cache_dir=cache)
    sites = StaticResolver(first).scan.captures_of("lib.a", "f")
    assert [(s.bound, s.line) for s in sites] == [("G", 5)]
    assert [p.name for p in cache.iterdir()] == [f"resolve-index-v{INDEX_VERSION}"]
    second = SourceTree(root, ["R"], ["lib"], cache_dir=cache)
    assert StaticResolver(second).scan.captures_of("lib.a", "f") == sites and second.files_read == set()
