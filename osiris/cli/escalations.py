"""`osiris escalations`: what heal handed to a person, and who took it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from osiris.cli.common import HomeOption, JsonOption, console
from osiris.heal.escalation import records
from osiris.heal.escalation.model import Escalation
from osiris.heal.escalation.notices import attempts
from osiris.heal.store import get_incident
from osiris.model import EscalationState
from osiris.site import open_site
from osiris.store.readonly import open_read_only

app = typer.Typer(
    help="L3: drift heal handed to a person (list, ack, resolve).", no_args_is_help=True
)

ByOption = Annotated[str, typer.Option("--by", help="Who (a name).")]


def _now() -> datetime:
    return datetime.now(UTC)


@app.command("list")
def list_command(
    state: Annotated[
        EscalationState | None,
        typer.Option("--state", help="Only this state (default: open and acknowledged)."),
    ] = None,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Escalations, newest first, with their notices (read-only)."""
    db = open_read_only(open_site(home).db_path)
    found = records.list_escalations(db, state)
    sent = attempts(db, [e.id for e in found])
    rows = []
    for e in found:
        incident = get_incident(db, e.incident_id)
        rows.append(_row(e, incident.state if incident else None, sent[e.id]))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Escalations", title_justify="left")
    for column in ("id", "pri", "host", "check", "category", "state", "seen", "notice", "opened"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["priority"],
            row["host"],
            row["check_id"],
            row["category"],
            _who(row),
            str(row["occurrences"]),
            Text(_notice_state(row["notices"])),
            row["created_at"],
        )
    console.print(table)


@app.command("ack")
def ack_command(escalation_id: int, by: ByOption, home: HomeOption = None) -> None:
    """Acknowledge: a person has it (no reminders while it stays acknowledged)."""
    done = records.acknowledge(open_site(home).database(), escalation_id, by, _now())
    console.print(f"escalation {done.id} acknowledged by {done.acknowledged_by}", markup=False)


@app.command("resolve")
def resolve_command(
    escalation_id: int,
    by: ByOption,
    note: Annotated[str | None, typer.Option("--note", help="What was done.")] = None,
    home: HomeOption = None,
) -> None:
    """Resolve: closed; the next escalation of the same kind is told again."""
    done = records.resolve(open_site(home).database(), escalation_id, by, note, _now())
    console.print(f"escalation {done.id} resolved by {done.resolved_by}", markup=False)


def _row(e: Escalation, incident_state: str | None, notices: list[dict]) -> dict[str, Any]:
    return {
        "id": e.id,
        "incident": e.incident_id,
        "incident_state": incident_state,
        "host": e.host,
        "check_id": e.check_id,
        "check_title": e.check_title,
        "category": e.category.value,
        "priority": e.priority.value,
        "severity": e.severity.value,
        "state": e.state.value,
        "summary": e.summary,
        "guidance": e.guidance,
        "occurrences": e.occurrences,
        "created_at": e.created_at,
        "last_seen_at": e.last_seen_at,
        "acknowledged_at": e.acknowledged_at,
        "acknowledged_by": e.acknowledged_by,
        "resolved_at": e.resolved_at,
        "resolved_by": e.resolved_by,
        "resolution_note": e.resolution_note,
        "notices": notices,
    }


def _who(row: dict[str, Any]) -> str:
    if row["state"] == EscalationState.RESOLVED:
        return f"resolved ({row['resolved_by']})"
    if row["state"] == EscalationState.ACKNOWLEDGED:
        return f"acknowledged ({row['acknowledged_by']})"
    return "open"


def _notice_state(notices: list[dict]) -> str:
    if not notices:
        return "none (no channel)"
    last = notices[-1]
    if last["state"] == "sent":
        return f"{last['kind']} sent"
    failures = [a for a in last["attempts"] if not a["ok"]]
    if failures:
        return f"pending: {failures[-1]['channel']}: {failures[-1]['error']}"
    return "pending"
