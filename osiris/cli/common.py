"""What every command shares: consoles, the --home option, exit codes."""

from __future__ import annotations

import sys
from enum import IntEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

# Human output goes to stderr when stdout carries a machine document (--json).
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class ExitCode(IntEnum):
    """Documented exit codes (README): scripts and timers rely on them."""

    OK = 0  # nothing failing
    FINDINGS = 1  # at least one warning or fail
    ERROR = 2  # a check could not decide, or bad usage / bad input
    INTERRUPTED = 130


HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Site directory (default: $OSIRIS_HOME, /var/lib/osiris as root,"
        " else the user data dir).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def print_error(message: str) -> None:
    """One line on stderr, never wrapped or styled: scripts grep it."""
    sys.stderr.write(f"osiris: error: {message}\n")
