"""Static resolution: dotted names -> definitions, read from source with the stdlib `ast` (never imported)."""

from patchmerge.resolve.index import Binding, BindKind, ClassInfo, FileSummary, ImportRec, ModuleIndex, summarize
from patchmerge.resolve.resolver import StaticResolver
from patchmerge.resolve.scan import ImportSite
from patchmerge.resolve.tree import SourceError, SourceTree

__all__ = [
    "BindKind",
    "Binding",
    "ClassInfo",
    "FileSummary",
    "ImportRec",
    "ImportSite",
    "ModuleIndex",
    "SourceError",
    "SourceTree",
    "StaticResolver",
    "summarize",
]
