"""The `osiris` command: the root of every command group."""

from __future__ import annotations

import sys

import typer

from osiris import __version__
from osiris.cli import anchor, checks, heal, history, incidents, inventory, keys, scan, site, verify
from osiris.cli import escalations as escalations_cli
from osiris.cli import evidence as evidence_cli
from osiris.cli import l2 as l2_cli
from osiris.cli import patterns as patterns_cli
from osiris.cli import runbooks as runbooks_cli
from osiris.cli.common import ExitCode, print_error
from osiris.errors import OsirisError

app = typer.Typer(
    name="osiris",
    help=(
        "HIPAA Security Rule compliance for the hosts of healthcare practices: scan, heal,"
        " prove.\n\nExit codes: 0 nothing failing; 1 findings (warning or fail);"
        " 2 a check could not decide (error), or bad usage or input; 130 interrupted."
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
) -> None:
    """Osiris."""


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


def main() -> None:
    """Console-script entry point: one-line errors, documented exit codes."""
    try:
        app()
    except OsirisError as exc:
        print_error(str(exc))
        sys.exit(ExitCode.ERROR)
    except KeyboardInterrupt:
        sys.stderr.write("osiris: interrupted\n")
        sys.exit(ExitCode.INTERRUPTED)
