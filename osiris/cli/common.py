"""What every command shares: consoles, the --home and --platform options, exit codes."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from osiris.errors import InputError
from osiris.model import Platform

# Human output goes to stderr when stdout carries a machine document (--json).
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class ExitCode(IntEnum):
    """Documented exit codes (README): scripts and timers rely on them."""

    OK = 0  # nothing failing
    FINDINGS = 1  # at least one warning or fail
    ERROR = 2  # a check could not decide, or bad usage, input or environment
    BUG = 3  # an unexpected exception: a bug (the traceback under --debug)
    INTERRUPTED = 130  # SIGINT or SIGTERM


DEBUG_ENV = "OSIRIS_DEBUG"


class Options:
    """Root options every command's error path needs (set by the root callback)."""

    debug = False


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
PlatformOption = Annotated[str | None, typer.Option("--platform", help="linux or windows.")]


def parse_platform(value: str | None) -> Platform | None:
    """The ``--platform`` value (None: every platform); an unknown one is an InputError."""
    if value is None:
        return None
    try:
        return Platform(value)
    except ValueError:
        raise InputError(f"unknown platform '{value}'", field="--platform") from None
