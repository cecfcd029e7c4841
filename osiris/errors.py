"""Errors that reach the user as one line and exit code 2.

Anything raised as an :class:`OsirisError` is a problem with the user's input or
environment (a bad file, a missing key, an unknown id), not a bug; the CLI prints it on
one line and exits 2 without writing anything.
"""

from __future__ import annotations

from pathlib import Path


class OsirisError(Exception):
    """A problem to tell the user in one line; exit code 2."""


class InputError(OsirisError):
    """A bad file or value, located as precisely as we can: file, line, field."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"
