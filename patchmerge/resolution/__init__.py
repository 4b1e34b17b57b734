"""Static resolution: dotted names -> definitions, read from source with the stdlib `ast` (never imported), over
the source model of `patchmerge.source`."""

from patchmerge.resolution.resolver import StaticResolver
from patchmerge.resolution.scan import ImportSite

__all__ = ["ImportSite", "StaticResolver"]
