"""The notice queue (``escalation_notices``) and the delivery log (``notice_attempts``).

A notice is pending until every configured channel has taken it once; each try on each
channel is one append-only attempt row, with the error when it failed. ``started_at``
is the notice's first try: the rate limit counts notices by it, so a retry after a
failure is never held back by notices that came later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlite_utils

from osiris.heal.escalation import records
from osiris.heal.escalation.model import Notice, NoticeKind
from osiris.heal.store import iso

# P1 before P2 ..., then oldest first: what the rate limit lets through is the most urgent
_PENDING = (
    "SELECT n.id, n.kind, n.escalation_id, n.started_at FROM escalation_notices n"
    " JOIN escalations e ON e.id = n.escalation_id WHERE n.state = 'pending'"
    " ORDER BY (n.started_at IS NULL), e.priority, n.id"
)


def queue(db: sqlite_utils.Database, escalation_id: int, kind: NoticeKind, now: datetime) -> int:
    cursor = db.execute(
        "INSERT INTO escalation_notices (escalation_id, kind, state, created_at)"
        " VALUES (?, ?, 'pending', ?)",
        [escalation_id, kind.value, iso(now)],
    )
    return int(cursor.lastrowid or 0)


def last_queued_at(db: sqlite_utils.Database, escalation_id: int) -> datetime | None:
    """When the escalation's newest notice was queued (the dedup window runs from it)."""
    row = db.execute(
        "SELECT max(created_at) FROM escalation_notices WHERE escalation_id = ?",
        [escalation_id],
    ).fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def pending(db: sqlite_utils.Database) -> list[Notice]:
    """Pending notices: those already tried first, then by priority and age."""
    found = []
    for notice_id, kind, escalation_id, started_at in db.execute(_PENDING).fetchall():
        escalation = records.get(db, escalation_id)
        assert escalation is not None  # a foreign key
        found.append(Notice(notice_id, NoticeKind(kind), escalation, started_at))
    return found


def started_since(db: sqlite_utils.Database, since: datetime) -> int:
    """Notices first tried at or after ``since`` (what the rate limit counts)."""
    row = db.execute(
        "SELECT count(*) FROM escalation_notices WHERE started_at >= ?", [iso(since)]
    ).fetchone()
    return int(row[0])


def delivered_channels(db: sqlite_utils.Database, notice_id: int) -> set[str]:
    """Channels that have taken this notice (they are not tried again)."""
    rows = db.execute(
        "SELECT DISTINCT channel FROM notice_attempts WHERE notice_id = ? AND ok = 1",
        [notice_id],
    ).fetchall()
    return {r[0] for r in rows}


def record_attempt(
    db: sqlite_utils.Database, notice_id: int, channel: str, error: str | None, now: datetime
) -> None:
    db.execute(
        "INSERT INTO notice_attempts (notice_id, channel, attempted_at, ok, error)"
        " VALUES (?, ?, ?, ?, ?)",
        [notice_id, channel, iso(now), int(error is None), error],
    )
    db.execute(
        "UPDATE escalation_notices SET started_at = coalesce(started_at, ?) WHERE id = ?",
        [iso(now), notice_id],
    )


def mark_sent(db: sqlite_utils.Database, notice_id: int, now: datetime) -> None:
    db.execute(
        "UPDATE escalation_notices SET state = 'sent', sent_at = ? WHERE id = ?",
        [iso(now), notice_id],
    )


def attempts(db: sqlite_utils.Database, escalation_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Per escalation: its notices with their attempts, oldest first (for listing)."""
    ids = list(escalation_ids)
    found: dict[int, list[dict]] = {i: [] for i in ids}
    if not ids:
        return found
    marks = ", ".join("?" for _ in ids)
    notices = db.execute(
        "SELECT id, escalation_id, kind, state, created_at, sent_at FROM escalation_notices"
        f" WHERE escalation_id IN ({marks}) ORDER BY id",
        ids,
    ).fetchall()
    for notice_id, escalation_id, kind, state, created_at, sent_at in notices:
        tries = db.execute(
            "SELECT channel, attempted_at, ok, error FROM notice_attempts WHERE notice_id = ?"
            " ORDER BY id",
            [notice_id],
        ).fetchall()
        found[escalation_id].append(
            {
                "id": notice_id,
                "kind": kind,
                "state": state,
                "created_at": created_at,
                "sent_at": sent_at,
                "attempts": [
                    {"channel": c, "at": at, "ok": bool(ok), "error": err}
                    for c, at, ok, err in tries
                ],
            }
        )
    return found
