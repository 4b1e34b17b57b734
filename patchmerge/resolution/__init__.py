"""Static resolution: dotted names -> definitions, read from source with the stdlib `ast` (never imported)."""

from patchmerge.resolution.index import Binding, BindKind, ClassInfo, FileSummary, ImportRec, ModuleIndex, summarize
from patchmerge.resolution.resolver import StaticResolver
from patchmerge.resolution.scan import ImportSite
from patchmerge.resolution.tree import SourceError, SourceTree

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
