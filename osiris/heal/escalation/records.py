"""The ``escalations`` table: one live row per (host, check, category).

States move one way, open -> acknowledged -> resolved, each step with who and when; a
resolved row is never reopened (a trigger refuses it) and the next escalation of the
same key starts a new row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from osiris.errors import InputError
from osiris.heal.escalation.model import Escalation, EscalationRequest
from osiris.heal.store import iso
from osiris.model import EscalationCategory, EscalationState, Priority, Severity
from osiris.store.runs import transaction

_COLUMNS = (
    "id, incident_id, host, check_id, category, priority, severity, check_title, summary,"
    " guidance, state, occurrences, created_at, last_seen_at, acknowledged_at,"
    " acknowledged_by, resolved_at, resolved_by, resolution_note"
)


def _escalation(row: Sequence[Any]) -> Escalation:
    return Escalation(
        id=row[0],
        incident_id=row[1],
        host=row[2],
        check_id=row[3],
        category=EscalationCategory(row[4]),
        priority=Priority(row[5]),
        severity=Severity(row[6]),
        check_title=row[7],
        summary=row[8],
        guidance=row[9],
        state=EscalationState(row[10]),
        occurrences=row[11],
        created_at=row[12],
        last_seen_at=row[13],
        acknowledged_at=row[14],
        acknowledged_by=row[15],
        resolved_at=row[16],
        resolved_by=row[17],
        resolution_note=row[18],
    )


def live(
    db: sqlite_utils.Database, host: str, check_id: str, category: EscalationCategory
) -> Escalation | None:
    """The unresolved escalation of this key, if any (at most one: a unique index)."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM escalations WHERE host = ? AND check_id = ? AND category = ?"
        " AND state != 'resolved'",
        [host, check_id, category.value],
    ).fetchone()
    return _escalation(row) if row else None


def insert(db: sqlite_utils.Database, request: EscalationRequest, now: datetime) -> int:
    cursor = db.execute(
        "INSERT INTO escalations (incident_id, host, check_id, category, priority, severity,"
        " check_title, summary, guidance, state, created_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
        [
            request.incident_id,
            request.host,
            request.check_id,
            request.category.value,
            request.priority.value,
            request.severity.value,
            request.check_title,
            request.summary,
            request.guidance,
            iso(now),
            iso(now),
        ],
    )
    return int(cursor.lastrowid or 0)


def count_occurrence(db: sqlite_utils.Database, escalation_id: int, now: datetime) -> None:
    db.execute(
        "UPDATE escalations SET occurrences = occurrences + 1, last_seen_at = ? WHERE id = ?",
        [iso(now), escalation_id],
    )


def get(db: sqlite_utils.Database, escalation_id: int) -> Escalation | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM escalations WHERE id = ?", [escalation_id])
    found = row.fetchone()
    return _escalation(found) if found else None


def list_escalations(
    db: sqlite_utils.Database, state: EscalationState | None = None, limit: int = 200
) -> list[Escalation]:
    """Newest first; without ``state``, the unresolved ones."""
    where, params = "WHERE state != 'resolved'", []
    if state is not None:
        where, params = "WHERE state = ?", [state.value]
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM escalations {where} ORDER BY id DESC LIMIT ?", [*params, limit]
    ).fetchall()
    return [_escalation(r) for r in rows]


def acknowledge(
    db: sqlite_utils.Database, escalation_id: int, by: str, now: datetime
) -> Escalation:
    """open -> acknowledged. A person has it: no reminders are sent while it stays so."""
    current = _require(db, escalation_id, by)
    if current.state is not EscalationState.OPEN:
        raise InputError(f"escalation {escalation_id} is {current.state}, not open")
    with transaction(db):
        db.execute(
            "UPDATE escalations SET state = 'acknowledged', acknowledged_at = ?,"
            " acknowledged_by = ? WHERE id = ? AND state = 'open'",
            [iso(now), by.strip(), escalation_id],
        )
    return _require(db, escalation_id, by)


def resolve(
    db: sqlite_utils.Database, escalation_id: int, by: str, note: str | None, now: datetime
) -> Escalation:
    """open or acknowledged -> resolved; an escalation never acknowledged counts as
    acknowledged by the same person at the same time."""
    current = _require(db, escalation_id, by)
    if current.state is EscalationState.RESOLVED:
        raise InputError(f"escalation {escalation_id} is already resolved")
    stamp, who = iso(now), by.strip()
    with transaction(db):
        db.execute(
            "UPDATE escalations SET state = 'resolved', resolved_at = ?, resolved_by = ?,"
            " resolution_note = ?, acknowledged_at = coalesce(acknowledged_at, ?),"
            " acknowledged_by = coalesce(acknowledged_by, ?) WHERE id = ?",
            [stamp, who, note, stamp, who, escalation_id],
        )
    return _require(db, escalation_id, by)


def _require(db: sqlite_utils.Database, escalation_id: int, by: str) -> Escalation:
    if not by.strip():
        raise InputError("say who (a name)", field="--by")
    found = get(db, escalation_id)
    if found is None:
        raise InputError(f"no escalation {escalation_id}")
    return found
