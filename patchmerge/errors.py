"""User-facing errors: each names the file, key or patch at fault and maps to an exit status."""

from __future__ import annotations

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_BAD_INPUT = 2


class PatchmergeError(Exception):
    """A mistake in the user's input or environment. Printed as one clear message, never a traceback."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ProfileError(PatchmergeError):
    """A profile that cannot be read or does not validate."""


class PatchFileError(PatchmergeError):
    """A patch file that cannot be read, parsed or validated."""


class RootDirError(PatchmergeError):
    """A ROOT_DIR that is missing or not shaped like one."""
