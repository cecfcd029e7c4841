"""Risk acceptance: a documented, approved, expiring exception to a check.

Excepted drift is not healed and shows as excepted; when the exception expires (or is
revoked) the drift comes back as an ordinary incident on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import sqlite_utils

from osiris.catalog import Catalog
from osiris.errors import InputError
from osiris.heal.store import iso
from osiris.store.runs import transaction


@dataclass(frozen=True)
class RiskException:
    id: int
    check_id: str
    host: str | None  # None: every host
    reason: str
    approver: str
    expires_at: str
    created_at: str
    revoked_at: str | None

    def covers(self, host: str, check_id: str, now: datetime) -> bool:
        return (
            self.revoked_at is None
            and self.check_id == check_id
            and (self.host is None or self.host == host)
            and datetime.fromisoformat(self.expires_at) > now
        )


def add_exception(
    db: sqlite_utils.Database,
    catalog: Catalog,
    *,
    check_id: str,
    host: str | None,
    reason: str,
    approver: str,
    expires: date,
    now: datetime,
) -> int:
    catalog.get(check_id)  # unknown ids are an error, not a silent no-op
    if not reason.strip() or not approver.strip():
        raise InputError("an exception needs a reason and an approver")
    until = datetime.combine(expires, time.max, tzinfo=UTC)
    if until <= now:
        raise InputError(f"--expires {expires} is not in the future", field="--expires")
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO exceptions (check_id, host, reason, approver, expires_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [check_id, host, reason.strip(), approver.strip(), iso(until), iso(now)],
        )
    return int(cursor.lastrowid or 0)


def list_exceptions(
    db: sqlite_utils.Database, *, include_inactive: bool = False, now: datetime
) -> list[RiskException]:
    rows = db.execute(
        "SELECT id, check_id, host, reason, approver, expires_at, created_at, revoked_at"
        " FROM exceptions ORDER BY id"
    ).fetchall()
    found = [RiskException(*row) for row in rows]
    if include_inactive:
        return found
    return [e for e in found if e.revoked_at is None and datetime.fromisoformat(e.expires_at) > now]


def revoke_exception(db: sqlite_utils.Database, exception_id: int, now: datetime) -> None:
    with transaction(db):
        cursor = db.execute(
            "UPDATE exceptions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            [iso(now), exception_id],
        )
    if cursor.rowcount == 0:
        raise InputError(f"no active exception {exception_id}")


def covering(
    exceptions: list[RiskException], host: str, check_id: str, now: datetime
) -> RiskException | None:
    return next((e for e in exceptions if e.covers(host, check_id, now)), None)
