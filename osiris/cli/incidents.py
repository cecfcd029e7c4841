"""`osiris incidents`, `osiris exception` and `osiris approvals`.

Listing and showing open the database read-only (they work on a read-only copy);
only the commands that decide something write.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from osiris.catalog import load_catalog
from osiris.cli.common import HomeOption, JsonOption, console
from osiris.errors import InputError
from osiris.heal import approvals as approval_queue
from osiris.heal.exceptions import add_exception, list_exceptions, revoke_exception
from osiris.heal.store import get_incident, list_incidents, set_state
from osiris.site import open_site
from osiris.store.readonly import open_read_only

incidents_app = typer.Typer(help="Drift that heal is handling or has handled.")
exception_app = typer.Typer(
    help="Risk acceptance: approved, expiring exceptions.", no_args_is_help=True
)
approvals_app = typer.Typer(
    help="Disruptive runbooks waiting for a yes or no.", no_args_is_help=True
)


def _now() -> datetime:
    return datetime.now(UTC)


AllOption = Annotated[bool, typer.Option("--all", help="Resolved ones too.")]


@incidents_app.callback(invoke_without_command=True)
def incidents_default(
    ctx: typer.Context,
    all_states: AllOption = False,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Without a subcommand: list incidents (live ones unless --all)."""
    if ctx.invoked_subcommand is None:
        list_command(all_states=all_states, as_json=as_json, home=home)


@incidents_app.command("list")
def list_command(
    all_states: AllOption = False,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Incidents, newest first."""
    found = list_incidents(open_read_only(open_site(home).db_path), include_resolved=all_states)
    if as_json:
        typer.echo(json.dumps([_incident_dict(i) for i in found], indent=2))
        return
    table = Table(title="Incidents", title_justify="left")
    for column in ("id", "host", "check", "state", "status", "seen", "tries", "reason"):
        table.add_column(column)
    for i in found:
        state = f"{i.state} (suppressed)" if i.suppressed else i.state
        table.add_row(
            str(i.id),
            i.host,
            i.check_id,
            state,
            i.status.value,
            str(i.occurrences),
            str(i.attempts),
            Text(i.reason),
        )
    console.print(table)


@incidents_app.command("show")
def show_command(incident_id: int, home: HomeOption = None) -> None:
    """One incident in full (JSON)."""
    incident = get_incident(open_read_only(open_site(home).db_path), incident_id)
    if incident is None:
        raise InputError(f"no incident {incident_id}")
    typer.echo(json.dumps(_incident_dict(incident), indent=2))


@incidents_app.command("clear")
def clear_command(incident_id: int, home: HomeOption = None) -> None:
    """Lift flap suppression: heal may act on this incident again."""
    db = open_site(home).database()
    incident = get_incident(db, incident_id)
    if incident is None:
        raise InputError(f"no incident {incident_id}")
    set_state(
        db, incident_id, "open", "suppression cleared by an operator", _now(), suppressed=False
    )
    console.print(f"incident {incident_id} is open again")


def _incident_dict(incident: object) -> dict[str, object]:
    data = dict(incident.__dict__)
    data["status"] = str(data["status"])
    return data


@exception_app.command("add")
def exception_add(
    check: Annotated[str, typer.Option("--check", help="Check id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the risk is accepted.")],
    approver: Annotated[str, typer.Option("--approver", help="Who accepts it.")],
    expires: Annotated[str, typer.Option("--expires", help="Last day, YYYY-MM-DD.")],
    host: Annotated[str | None, typer.Option("--host", help="One host (default: all).")] = None,
    home: HomeOption = None,
) -> None:
    """Accept a check's drift until a date."""
    try:
        until = date.fromisoformat(expires)
    except ValueError:
        raise InputError(f"'{expires}' is not a date (YYYY-MM-DD)", field="--expires") from None
    exception_id = add_exception(
        open_site(home).database(),
        load_catalog(),
        check_id=check,
        host=host,
        reason=reason,
        approver=approver,
        expires=until,
        now=_now(),
    )
    console.print(f"exception {exception_id}: {check} on {host or 'every host'} until {until}")


@exception_app.command("list")
def exception_list(
    all_states: Annotated[bool, typer.Option("--all", help="Expired and revoked too.")] = False,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    found = list_exceptions(
        open_read_only(open_site(home).db_path), include_inactive=all_states, now=_now()
    )
    if as_json:
        typer.echo(json.dumps([e.__dict__ for e in found], indent=2))
        return
    table = Table(title="Exceptions", title_justify="left")
    for column in ("id", "check", "host", "approver", "expires", "revoked", "reason"):
        table.add_column(column)
    for e in found:
        table.add_row(
            str(e.id),
            e.check_id,
            e.host or "all",
            e.approver,
            e.expires_at,
            e.revoked_at or "",
            Text(e.reason),
        )
    console.print(table)


@exception_app.command("revoke")
def exception_revoke(exception_id: int, home: HomeOption = None) -> None:
    revoke_exception(open_site(home).database(), exception_id, _now())
    console.print(f"exception {exception_id} revoked")


@approvals_app.command("list")
def approvals_list(as_json: JsonOption = False, home: HomeOption = None) -> None:
    """Pending approvals."""
    found = approval_queue.list_approvals(open_read_only(open_site(home).db_path))
    if as_json:
        typer.echo(json.dumps([a.__dict__ for a in found], indent=2))
        return
    table = Table(title="Approvals", title_justify="left")
    for column in ("id", "incident", "host", "check", "runbook", "requested"):
        table.add_column(column)
    for a in found:
        table.add_row(
            str(a.id), str(a.incident_id), a.host, a.check_id, a.runbook_id, a.requested_at
        )
    console.print(table)


ByOption = Annotated[str, typer.Option("--by", help="Who decides.")]


@approvals_app.command("approve")
def approvals_approve(approval_id: int, by: ByOption, home: HomeOption = None) -> None:
    approval_queue.decide(open_site(home).database(), approval_id, True, by, _now())
    console.print(f"approval {approval_id} approved: the next heal runs it")


@approvals_app.command("deny")
def approvals_deny(approval_id: int, by: ByOption, home: HomeOption = None) -> None:
    approval_queue.decide(open_site(home).database(), approval_id, False, by, _now())
    console.print(f"approval {approval_id} denied")
