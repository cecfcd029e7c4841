"""The `osiris` command tree: the root options and every command group.

Imported by :func:`osiris.cli.app.main` only after the signal handlers are in place.
Every command, as it starts, releases a signal held since the process started
(:func:`osiris.interrupts.hold`): a command interrupted before its first line exits 130
and, with ``--json``, still prints a document whose status is "interrupted".
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import typer

from osiris import __version__, interrupts
from osiris.cli import anchor, checks, heal, history, incidents, inventory, keys, scan, site, verify
from osiris.cli import escalations as escalations_cli
from osiris.cli import evidence as evidence_cli
from osiris.cli import l2 as l2_cli
from osiris.cli import patterns as patterns_cli
from osiris.cli import runbooks as runbooks_cli
from osiris.cli.common import DEBUG_ENV, ExitCode, Options

app = typer.Typer(
    name="osiris",
    help=(
        "HIPAA Security Rule compliance for the hosts of healthcare practices: scan, heal,"
        " prove.\n\nExit codes: 0 nothing failing; 1 findings (warning or fail);"
        " 2 a check could not decide (error), or bad usage, input or environment;"
        " 3 an unexpected error (a bug: --debug shows the traceback);"
        " 130 interrupted (SIGINT or SIGTERM)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"osiris {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        envvar=DEBUG_ENV,
        help=f"Show the traceback of an unexpected error (exit 3); also {DEBUG_ENV}=1.",
    ),
) -> None:
    """Osiris."""
    Options.debug = Options.debug or debug


site.register(app)
scan.register(app)
history.register(app)
verify.register(app)
anchor.register(app)
app.add_typer(keys.app, name="keys")
app.add_typer(evidence_cli.app, name="evidence")
app.add_typer(inventory.app, name="inventory")
app.add_typer(checks.app, name="checks")
heal.register(app)
app.add_typer(runbooks_cli.app, name="runbooks")
app.add_typer(incidents.incidents_app, name="incidents")
app.add_typer(incidents.exception_app, name="exception")
app.add_typer(incidents.approvals_app, name="approvals")
app.add_typer(patterns_cli.app, name="patterns")
app.add_typer(escalations_cli.app, name="escalations")
app.add_typer(l2_cli.app, name="l2")


def _starting(callback: Callable[..., Any]) -> Callable[..., Any]:
    """``callback``, first meeting a signal held while the process started; interrupted
    without reporting it itself, it still exits 130 and prints, under ``--json``, a
    document that says so."""

    @functools.wraps(callback)
    def command(*args: Any, **kwargs: Any) -> Any:
        context = kwargs.get("ctx")
        if isinstance(context, typer.Context) and context.invoked_subcommand is not None:
            return callback(*args, **kwargs)  # a group's callback: the subcommand starts it
        try:
            interrupts.release()
            return callback(*args, **kwargs)
        except KeyboardInterrupt:
            interrupts.settle()
            if kwargs.get("as_json"):
                typer.echo(json.dumps({"status": "interrupted"}))
            typer.echo("osiris: interrupted", err=True)
            raise typer.Exit(ExitCode.INTERRUPTED) from None

    return command


def _wrap_commands(group: typer.Typer) -> None:
    for info in group.registered_commands:
        if info.callback is not None:
            info.callback = _starting(info.callback)
    for sub in group.registered_groups:
        if sub.typer_instance is None:
            continue
        found = sub.typer_instance.registered_callback
        if found is not None and found.callback is not None:  # may run as a command
            found.callback = _starting(found.callback)
        _wrap_commands(sub.typer_instance)


_wrap_commands(app)
