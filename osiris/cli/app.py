"""The `osiris` entry point: signal handlers first, then the commands, one exit path.

Every way out goes through :func:`main`: 0 and 1 as the command decides (nothing
failing, findings); 2 for bad usage, input or environment (an
:class:`~osiris.errors.OsirisError`, an unreadable file, a damaged database: one line
on stderr); 3 for anything else, which is a bug (one line; the traceback with
``--debug`` or ``OSIRIS_DEBUG=1``); 130 when SIGINT or SIGTERM stopped it. Only the
standard library is imported before the handlers are installed, so an interrupt during
start-up is an interrupt too.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from typing import Any, cast

from osiris import interrupts
from osiris.errors import OsirisError

# the values of ExitCode (osiris.cli.common), which this module may not import yet
_OK, _ERROR, _BUG, _INTERRUPTED, _BROKEN_PIPE = 0, 2, 3, 130, 141


def main() -> None:
    """Console-script entry point."""
    interrupts.install()
    code = _INTERRUPTED
    try:
        code = _run(sys.argv[1:])
        interrupts.settle()  # the command has ended: a signal now changes nothing
    except KeyboardInterrupt:  # one came as the command returned: its code stands if set
        interrupts.settle()
    sys.stdout.flush()
    interrupts.ignore()  # a signal while Python shuts down must not turn the code into death
    sys.exit(code)


def _run(args: list[str]) -> int:
    try:
        # a signal while the commands are imported (pydantic, typer: a KeyboardInterrupt
        # there may come out wrapped as another error) or the command line is parsed is
        # held until the command starts, which then meets it and can report it
        # (osiris.cli.commands); or until parsing ends
        interrupts.hold()
        from osiris.cli.commands import app

        result = app(args=args, prog_name="osiris", standalone_mode=False)
        interrupts.release()
        return result if isinstance(result, int) else _OK
    except OsirisError as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        if "--json" in args:  # no command reported it: the document says so at least
            sys.stdout.write('{"status": "interrupted"}\n')
        sys.stderr.write("osiris: interrupted\n")
        return _INTERRUPTED
    except Exception as exc:  # the one place every other error ends
        return _unexpected(exc)


def _unexpected(exc: Exception) -> int:
    import typer
    from typer import rich_utils

    from osiris.store.readonly import database_problem

    if isinstance(exc, typer.Abort):  # EOF at a prompt: no answer was given
        return _error("no answer (end of input); nothing was done")
    if isinstance(exc, typer.TyperException):  # bad usage: the parser's own message
        rich_utils.rich_format_error(cast(Any, exc))
        return _ERROR if exc.exit_code in (_OK, 1) else exc.exit_code
    if isinstance(exc, OSError):
        if exc.errno == errno.EPIPE:  # `osiris results | head`: the reader has gone
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return _BROKEN_PIPE
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(f"{where}{exc.strerror or exc}")
    problem = database_problem(exc)
    if problem is not None:
        if problem.interrupted:
            sys.stderr.write("osiris: interrupted\n")
            return _INTERRUPTED
        return _error(problem.message)
    if _debug():
        traceback.print_exception(exc)
    else:
        what = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line, whatever it says
        sys.stderr.write(
            f"osiris: internal error (a bug): {what}; run again with --debug (or"
            " OSIRIS_DEBUG=1) for the traceback\n"
        )
    return _BUG


def _error(message: str) -> int:
    # one line, never wrapped or styled: scripts grep it
    sys.stderr.write(f"osiris: error: {message}\n")
    return _ERROR


def _debug() -> bool:
    from osiris.cli.common import DEBUG_ENV, Options

    return Options.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0", "false")
