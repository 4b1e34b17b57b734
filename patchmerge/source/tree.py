"""Module name -> file mapping over several source roots, as Python's path finder would do it, and lazily
parsed per-module indexes (optionally cached on disk by content hash)."""

from __future__ import annotations

import ast
import hashlib
import logging
import multiprocessing
import os
import pickle
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from patchmerge.markers import without_fused_block
from patchmerge.source.cache import DiskCache
from patchmerge.source.index import FileSummary, ModuleIndex, parse, summarize, summarize_tree

log = logging.getLogger(__name__)


PARALLEL_MIN_FILES = 300  # below this, starting worker processes costs more than it saves


def _parse(path: Path, data: bytes, tree: ast.Module | None = None) -> FileSummary | SourceError:
    if tree is not None:
        return summarize_tree(tree)
    try:
        with warnings.catch_warnings():  # e.g. invalid escapes in the tree: not ours to report
            warnings.simplefilter("ignore")
            return summarize(without_fused_block(data), str(path))
    except SyntaxError as exc:
        return SourceError(path, f"syntax error line {exc.lineno}: {exc.msg}")
    except ValueError as exc:  # e.g. null bytes
        return SourceError(path, f"cannot parse: {exc}")
    except (RecursionError, MemoryError) as exc:  # expressions or blocks nested deeper than the parser allows
        return SourceError(path, f"cannot parse: nested too deeply ({type(exc).__name__})")


def _parse_job(job: tuple[Path | None, bytes]) -> FileSummary | SourceError:
    path, data = job
    assert path is not None
    return _parse(path, data)


class SourceError(Exception):
    """A module file that cannot be read or parsed."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message

    def __reduce__(self) -> tuple[type[SourceError], tuple[Path, str]]:  # crosses process boundaries
        return (SourceError, (self.path, self.message))


@dataclass(frozen=True, slots=True)
class _Spec:
    file: Path | None  # None for a namespace package
    search: tuple[Path, ...] | None  # submodule search locations; None for a plain module


class SourceTree:
    """The source roots under `root`, in sys.path order, read as files (nothing is imported)."""

    def __init__(
        self,
        root: Path,
        source_roots: Sequence[str],
        rewritable: Sequence[str] = (),
        cache_dir: Path | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.source_roots = tuple(source_roots)
        self.rewritable = tuple(rewritable)
        self.paths = tuple(self.root / r for r in self.source_roots)
        self.files_read: set[Path] = set()  # files parsed with ast (cache misses)
        self.files_cached: set[Path] = set()  # files whose index came from the disk cache
        self.files_opened: set[Path] = set()  # files whose bytes were read (parsed or hashed)
        self._cache = DiskCache(Path(cache_dir)) if cache_dir is not None else None
        self._specs: dict[str, _Spec | None] = {}
        self._indexes: dict[str, ModuleIndex] = {}
        self._syntax: dict[Path, ast.Module] = {}

    # -- finding modules -------------------------------------------------------------------------------

    def _find(self, module: str) -> _Spec | None:
        if module in self._specs:
            return self._specs[module]
        parent, _, tail = module.rpartition(".")
        if parent:
            pspec = self._find(parent)
            locations = pspec.search if pspec is not None else None
        else:
            locations = self.paths
        spec = self._find_in(tail, locations) if locations and tail.isidentifier() else None
        self._specs[module] = spec
        return spec

    @staticmethod
    def _find_in(tail: str, locations: Sequence[Path]) -> _Spec | None:
        # Mirrors importlib's FileFinder: per location a regular package, then a module file; a bare
        # directory is a namespace portion, used only if no location has a regular package or module.
        portions: list[Path] = []
        for loc in locations:
            pkg = loc / tail
            if pkg.is_dir():
                init = pkg / "__init__.py"
                if init.is_file():
                    return _Spec(init, (pkg,))
                portions.append(pkg)
            mod = loc / f"{tail}.py"
            if mod.is_file():
                return _Spec(mod, None)
        return _Spec(None, tuple(portions)) if portions else None

    def package_dirs(self, module: str) -> tuple[Path, ...]:
        """The folders a package's submodules are found in (several for a namespace package); () if none."""
        spec = self._find(module)
        return spec.search if spec is not None and spec.search else ()

    def exists(self, module: str) -> bool:
        return bool(module) and self._find(module) is not None

    def module_file(self, module: str) -> Path | None:
        """Absolute path of the module's .py or package __init__.py (first root wins); None for a namespace
        package or a module that does not exist (tell them apart with `exists`)."""
        spec = self._find(module)
        return spec.file if spec is not None else None

    def is_package(self, module: str) -> bool:
        spec = self._find(module)
        return spec is not None and spec.search is not None

    def relative(self, path: Path | None) -> Path | None:
        if path is None:
            return None
        try:
            return path.relative_to(self.root)
        except ValueError:
            return path

    def describe_roots(self) -> str:
        return ", ".join(self.source_roots)

    # -- indexes --------------------------------------------------------------------------------------

    def module_index(self, module: str) -> ModuleIndex | None:
        """The module's index, parsed lazily and kept in memory; None if the module does not exist.
        Raises SourceError when the file cannot be read or parsed."""
        cached = self._indexes.get(module)
        if cached is not None:
            return cached
        spec = self._find(module)
        if spec is None:
            return None
        summary = FileSummary((), (), None) if spec.file is None else self._summary(spec.file)
        index = ModuleIndex(module, spec.file, spec.search is not None, summary)
        self._indexes[module] = index
        return index

    def _summary(self, path: Path) -> FileSummary:
        hit, data, key = self._load(path)
        if hit is not None:
            return hit
        return self._store(path, key, _parse(path, data, self._syntax.get(path.resolve()) if self._syntax else None))

    def syntax(self, path: Path) -> ast.Module:
        """The file's `ast`, parsed once and kept in memory, for a reader that evaluates statements (collect); a
        later index of the file is built from it. Raises OSError, or SyntaxError / ValueError / RecursionError
        as `ast.parse` does: the wording is the caller's."""
        path = path.resolve()
        tree = self._syntax.get(path)
        if tree is None:
            data = path.read_bytes()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = self._syntax[path] = parse(without_fused_block(data), str(path))
        return tree

    def _load(self, path: Path) -> tuple[FileSummary | None, bytes, str]:
        """(summary from the disk cache or None, the file's bytes unless the stat index spared reading them,
        the cache key)."""
        st = None
        if self._cache is not None:
            try:
                st = path.stat()
            except OSError as exc:
                raise SourceError(path, f"cannot read: {exc.strerror or exc}") from exc
            key = self._cache.known_key(path, st)
            if key is not None and (hit := self._cache.get(key)) is not None:
                self.files_cached.add(path)
                return hit, b"", key
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SourceError(path, f"cannot read: {exc.strerror or exc}") from exc
        self.files_opened.add(path)
        if self._cache is None or st is None:
            return None, data, ""
        key = hashlib.sha1(data).hexdigest()
        self._cache.remember(path, st, key)
        hit = self._cache.get(key)
        if hit is not None:
            self.files_cached.add(path)
        return hit, data, key

    def _store(self, path: Path, key: str, summary: FileSummary | SourceError) -> FileSummary:
        if isinstance(summary, SourceError):
            raise summary
        self.files_read.add(path)
        if self._cache is not None:
            self._cache.put(key, summary)
        return summary

    def flush_cache(self) -> None:
        """Write the disk cache's stat index (summaries themselves are written as they are made)."""
        if self._cache is not None:
            self._cache.flush()

    def preload(self, modules: Sequence[str], workers: int | None = None) -> dict[str, SourceError]:
        """Index many modules at once (the tree-wide scan). Files found neither in memory nor in the disk
        cache are parsed in `workers` processes when there are enough of them to pay for the start-up.
        Returns the modules that could not be indexed, with why."""
        errors: dict[str, SourceError] = {}
        todo: list[tuple[str, _Spec, bytes, str]] = []
        for module in modules:
            spec = self._find(module)
            if module in self._indexes or spec is None or spec.file is None:
                continue
            try:
                hit, data, key = self._load(spec.file)
            except SourceError as exc:
                errors[module] = exc
                continue
            if hit is not None:
                self._indexes[module] = ModuleIndex(module, spec.file, spec.search is not None, hit)
            else:
                todo.append((module, spec, data, key))
        if workers is None:
            cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
            workers = min(cpus, 8)
        jobs = [(spec.file, data) for _, spec, data, _ in todo]
        results: list[FileSummary | SourceError] | None = None
        # a daemon process (e.g. a multiprocessing worker) may not start children: parse here instead
        if workers > 1 and len(todo) >= PARALLEL_MIN_FILES and not multiprocessing.current_process().daemon:
            try:
                with ProcessPoolExecutor(workers) as pool:
                    results = list(pool.map(_parse_job, jobs, chunksize=max(1, len(jobs) // (workers * 4))))
            except (OSError, BrokenProcessPool, pickle.PicklingError) as exc:  # no processes, a killed worker
                log.warning("parallel parse failed (%s: %s); parsing serially", type(exc).__name__, exc)
        if results is None:
            results = [_parse_job(job) for job in jobs]
        for (module, spec, _, key), result in zip(todo, results, strict=True):
            assert spec.file is not None
            try:
                summary = self._store(spec.file, key, result)
            except SourceError as exc:
                errors[module] = exc
                continue
            self._indexes[module] = ModuleIndex(module, spec.file, spec.search is not None, summary)
        self.flush_cache()
        return errors

    # -- enumeration ------------------------------------------------------------------------------------

    def iter_modules(self, package: str) -> Iterator[str]:
        """`package` and every module below it, as the import system would find them (first root wins)."""
        if not self.exists(package):
            return
        yield package
        spec = self._find(package)
        if spec is None or spec.search is None:
            return
        seen: set[str] = set()
        for loc in spec.search:
            try:
                entries = sorted(os.scandir(loc), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                name = entry.name[:-3] if entry.name.endswith(".py") else entry.name
                if not name.isidentifier() or name in seen or name in ("__init__", "__pycache__"):
                    continue
                if entry.is_dir() or (entry.name.endswith(".py") and entry.is_file()):
                    seen.add(name)
                    yield from self.iter_modules(f"{package}.{name}")

    def rewritable_modules(self) -> list[str]:
        return [m for pkg in self.rewritable for m in self.iter_modules(pkg)]
