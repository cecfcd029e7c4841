"""The one error tree: every exception Osiris raises on purpose derives from OsirisError.

An :class:`OsirisError` is a problem with the user's input or environment (a bad file,
a missing key, an unknown id, a damaged database), not a bug: the CLI prints it on one
line and exits 2 without writing anything. Each subclass formats its own message. Any
other exception reaching the CLI is a bug: exit 3, the traceback only under ``--debug``.
(SIGINT and SIGTERM raise :class:`osiris.interrupts.Interrupted`, a KeyboardInterrupt,
on purpose outside this tree: no ``except Exception`` may swallow them.)
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


class DatabaseError(OsirisError):
    """A site database that cannot be read as one: not SQLite, truncated, damaged, of
    an unknown schema, or locked. Names the file."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


class DatabaseMissing(DatabaseError):
    """The site has no database, or an empty one (zero bytes, no tables): nothing was
    ever recorded there, or everything was removed."""
