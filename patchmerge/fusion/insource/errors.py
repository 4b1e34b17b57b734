"""The one error of in-source planning: the binding is left to the deferred strategy, with this reason."""


class CannotMove(Exception):
    """The definition cannot be moved without changing what its names mean (the message says why)."""


class NotAtDefinition(CannotMove):
    """A name read when the code is defined (or a wrapper applied) that the destination cannot give then."""

    def __init__(self, message: str, module: str, name: str | None, alias: str | None) -> None:
        super().__init__(message)
        self.module, self.name, self.alias = module, name, alias
