"""The one error of in-source planning: the binding is left to the deferred strategy, with this reason."""


class CannotMove(Exception):
    """The definition cannot be moved without changing what its names mean (the message says why)."""
