"""patchmerge: fuse MindSpeed's runtime monkey-patches into the Megatron source."""

from patchmerge.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
