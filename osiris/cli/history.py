"""`osiris runs` and `osiris results`: what earlier scans found (read-only: the database
is opened for reading, so they work on an auditor's read-only copy)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from osiris.cli.common import HomeOption, JsonOption, console
from osiris.cli.render import STATUS_STYLE
from osiris.errors import InputError
from osiris.model import Status
from osiris.site import open_site
from osiris.store.readonly import open_read_only
from osiris.store.runs import list_runs, query_results


def register(app: typer.Typer) -> None:
    app.command("runs")(runs)
    app.command("results")(results)


def runs(
    limit: Annotated[int, typer.Option("--last", min=1, help="How many runs.")] = 20,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """List recent runs with their status counts."""
    found = list_runs(open_read_only(open_site(home).db_path), limit)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in found], indent=2))
        return
    table = Table(title="Runs", title_justify="left")
    for column in ("run", "started", "status", "engine", "hosts", "checks"):
        table.add_column(column)
    for status in Status:
        table.add_column(status.value, justify="right", style=STATUS_STYLE[status])
    for r in found:
        table.add_row(
            str(r.id),
            r.started_at,
            r.status,
            r.engine,
            str(r.host_count),
            str(r.check_count),
            *(str(r.counts[s.value]) for s in Status),
        )
    console.print(table)


def results(
    run: Annotated[int | None, typer.Option("--run", help="Run id (default: latest).")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Only this host.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Show the results of a run."""
    wanted = None
    if status is not None:
        try:
            wanted = Status(status)
        except ValueError:
            raise InputError(
                f"unknown status '{status}' (one of {', '.join(Status)})", field="--status"
            ) from None
    rows = query_results(
        open_read_only(open_site(home).db_path), run_id=run, host=host, status=wanted
    )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Results", title_justify="left")
    for column in ("run", "host", "check", "status", "reason"):
        table.add_column(column)
    for row in rows:
        style = STATUS_STYLE[Status(row["status"])]
        table.add_row(
            str(row["run_id"]),
            row["host"],
            row["check_id"],
            Text(row["status"], style=style),
            Text(row["reason"]),
        )
    console.print(table)
