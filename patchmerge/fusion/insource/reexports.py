"""Re-exports read from source: when two imports give one object, and which dotted names mean a class."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from patchmerge.fusion.insource.carry import ImportLine
from patchmerge.fusion.insource.module_info import ModuleInfo
from patchmerge.fusion.sites import Site


class Reexports:
    """A package re-exports a name when its `__init__` imports it (`from .transformer_config import
    TransformerConfig` in `megatron/core/transformer/__init__.py`)."""

    def __init__(
        self,
        peek: Callable[[Path], str | None],
        infos: dict[Path, ModuleInfo],
        defined_at: Callable[[str], tuple[Path, str] | None] | None = None,
    ) -> None:
        self.peek = peek
        self.infos = infos  # the modules read so far, by file: where a package's folder is
        self.defined_at = defined_at  # (file, qualname) of the definition a dotted name resolves to

    def same_import(self, ours: ImportLine, theirs: ImportLine) -> bool:
        """`from a.b import X` and `from a.b.c import X` give one object when package a.b re-exports X."""
        if ours.name is None or ours.name != theirs.name or ours.alias != theirs.alias:
            return False
        outer, inner = sorted((ours.module, theirs.module), key=len)
        if not inner.startswith(outer + "."):
            return False
        init = self.package_init(outer)
        return init is not None and imports_name(init, ours.name)

    def package_init(self, package: str) -> str | None:
        """The text of `package`'s __init__.py, found beside a module of the same top package already read."""
        for path, info in self.infos.items():
            parts = info.name.split(".")
            if parts[0] != package.split(".")[0]:
                continue
            root = path.parents[len(parts) - (0 if path.name == "__init__.py" else 1)]
            return self.peek(root.joinpath(*package.split("."), "__init__.py"))
        return None

    def original_names(self, site: Site, reads: Iterable[str] = ()) -> frozenset[str]:
        """The dotted names that mean the replaced def or class: each target's, its own, and (at a module's
        top) a package's re-export of it and each of `reads` that resolves to it (an import of it through
        another module, which the runtime leaves the original: it rebinds only holders of the target's name)."""
        names = {tp.target for tp in site.targets} | {f"{site.module}.{site.name}"}
        if site.owner_class is not None:
            return frozenset(names)
        if self.defined_at is not None and (original := self.defined_at(site.targets[0].target)) is not None:
            names |= {read for read in reads if self.defined_at(read) == original}
        parts = site.module.split(".")
        folder = site.file.parent.parent if site.file.name == "__init__.py" else site.file.parent
        original = self.defined_at(site.targets[0].target) if self.defined_at is not None else None
        for depth in range(len(parts) - 1, 0, -1):
            dotted = ".".join(parts[:depth]) + f".{site.name}"
            if original is not None:  # the resolver says which object the package's name is
                if self.defined_at(dotted) != original:  # type: ignore[misc]
                    break
            else:
                text = self.peek(folder / "__init__.py")
                if text is None or not imports_name(text, site.name):
                    break
            names.add(dotted)
            folder = folder.parent
        return frozenset(names)


def imports_name(text: str, name: str) -> bool:
    """A package's __init__ imports `name` (so `package.name` is a re-export of it)."""
    return re.search(rf"\bimport\b[^\n]*\b{re.escape(name)}\b", text) is not None
