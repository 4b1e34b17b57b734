"""The resolver's internal failure, in a module of its own so the parts of the resolver can raise it without
importing each other."""


class Fail(Exception):
    """Internal: a lookup failed for a reason people can read; becomes Unresolved at the API boundary."""
