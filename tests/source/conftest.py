"""The fixture tree the resolver tests use (two source roots, a rewritable package), for the source model's."""

from tests.resolution.conftest import resolver, root, tree

__all__ = ["resolver", "root", "tree"]
