"""The approval queue: disruptive runbooks wait here for a person's yes or no."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from osiris.errors import InputError
from osiris.heal.store import Incident, iso
from osiris.store.runs import transaction


@dataclass(frozen=True)
class Approval:
    id: int
    incident_id: int
    host: str
    check_id: str
    runbook_id: str
    state: str
    requested_at: str
    decided_at: str | None
    decided_by: str | None


_COLUMNS = (
    "id, incident_id, host, check_id, runbook_id, state, requested_at, decided_at, decided_by"
)


def request(
    db: sqlite_utils.Database, incident: Incident, runbook_id: str, now: datetime
) -> Approval:
    """The pending or approved request for this incident and runbook, made if absent."""
    existing = find(db, incident.id, runbook_id)
    if existing is not None:
        return existing
    with transaction(db):
        db.execute(
            "INSERT INTO approvals (incident_id, host, check_id, runbook_id, state, requested_at)"
            " VALUES (?, ?, ?, ?, 'pending', ?)",
            [incident.id, incident.host, incident.check_id, runbook_id, iso(now)],
        )
    found = find(db, incident.id, runbook_id)
    assert found is not None
    return found


def find(db: sqlite_utils.Database, incident_id: int, runbook_id: str) -> Approval | None:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM approvals WHERE incident_id = ? AND runbook_id = ?"
        " AND state IN ('pending', 'approved')",
        [incident_id, runbook_id],
    ).fetchone()
    return Approval(*row) if row else None


def live_requests(db: sqlite_utils.Database) -> dict[tuple[int, str], Approval]:
    """Every pending or approved request, by (incident id, runbook id)."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM approvals WHERE state IN ('pending', 'approved')"
    ).fetchall()
    return {(row[1], row[4]): Approval(*row) for row in rows}


def list_approvals(db: sqlite_utils.Database, *, pending_only: bool = True) -> list[Approval]:
    where = "WHERE state = 'pending'" if pending_only else ""
    rows = db.execute(f"SELECT {_COLUMNS} FROM approvals {where} ORDER BY id").fetchall()
    return [Approval(*row) for row in rows]


def decide(
    db: sqlite_utils.Database, approval_id: int, approve: bool, who: str, now: datetime
) -> None:
    if not who.strip():
        raise InputError("say who decides (--by NAME)", field="--by")
    with transaction(db):
        cursor = db.execute(
            "UPDATE approvals SET state = ?, decided_at = ?, decided_by = ?"
            " WHERE id = ? AND state = 'pending'",
            ["approved" if approve else "denied", iso(now), who.strip(), approval_id],
        )
    if cursor.rowcount == 0:
        raise InputError(f"no pending approval {approval_id}")


def mark_used(db: sqlite_utils.Database, approval_id: int) -> None:
    with transaction(db):
        db.execute("UPDATE approvals SET state = 'used' WHERE id = ?", [approval_id])
