"""Reading and writing incidents, actions, exceptions and approvals.

Every key is built here once (contract: one function builds every key); callers never
compose (host, check) lookups of their own.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from osiris.model import HostOutcome, Status
from osiris.store.runs import transaction


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Incident:
    id: int
    host: str
    check_id: str
    state: str
    status: Status
    reason: str
    facts: dict[str, Any] | None
    occurrences: int
    attempts: int
    suppressed: bool
    opened_at: str
    updated_at: str

    @property
    def key(self) -> tuple[str, str]:
        return incident_key(self.host, self.check_id)


def incident_key(host: str, check_id: str) -> tuple[str, str]:
    """The one key for everything per (host, check): incidents, cooldowns, retries."""
    return (host, check_id)


_INCIDENT_COLUMNS = (
    "id, host, check_id, state, status, reason, facts, occurrences, attempts, suppressed,"
    " opened_at, updated_at"
)


def _incident(row: Sequence[Any]) -> Incident:
    return Incident(
        id=row[0],
        host=row[1],
        check_id=row[2],
        state=row[3],
        status=Status(row[4]),
        reason=row[5],
        facts=json.loads(row[6]) if row[6] else None,
        occurrences=row[7],
        attempts=row[8],
        suppressed=bool(row[9]),
        opened_at=row[10],
        updated_at=row[11],
    )


def live_incidents(db: sqlite_utils.Database) -> list[Incident]:
    rows = db.execute(
        f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE state != 'resolved' ORDER BY id"
    ).fetchall()
    return [_incident(r) for r in rows]


def get_incident(db: sqlite_utils.Database, incident_id: int) -> Incident | None:
    row = db.execute(
        f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?", [incident_id]
    ).fetchone()
    return _incident(row) if row else None


def list_incidents(
    db: sqlite_utils.Database, *, include_resolved: bool = False, limit: int = 200
) -> list[Incident]:
    where = "" if include_resolved else "WHERE state != 'resolved'"
    rows = db.execute(
        f"SELECT {_INCIDENT_COLUMNS} FROM incidents {where} ORDER BY id DESC LIMIT ?", [limit]
    ).fetchall()
    return [_incident(r) for r in rows]


def sync_incidents(
    db: sqlite_utils.Database, run_id: int, outcomes: Iterable[HostOutcome], now: datetime
) -> None:
    """Open, bump or resolve incidents from a scan's results, in one transaction.

    Drift (warning, fail) and error open an incident per (host, check) or bump the live
    one; a check that now passes (or no longer applies) resolves its live incident.
    """
    live = {i.key: i for i in live_incidents(db)}
    stamp = iso(now)
    with transaction(db):
        for outcome in outcomes:
            for result in outcome.results:
                key = incident_key(result.host, result.check_id)
                facts = None if result.facts is None else json.dumps(result.facts, sort_keys=True)
                if result.status.is_drift or result.status is Status.ERROR:
                    if key in live:
                        db.execute(
                            "UPDATE incidents SET status = ?, reason = ?, facts = ?,"
                            " occurrences = occurrences + 1, updated_at = ?, last_run_id = ?"
                            " WHERE id = ?",
                            [
                                result.status.value,
                                result.reason,
                                facts,
                                stamp,
                                run_id,
                                live[key].id,
                            ],
                        )
                    else:
                        db.execute(
                            "INSERT INTO incidents (host, check_id, state, status, reason, facts,"
                            " opened_at, updated_at, last_run_id) VALUES (?, ?, 'open', ?, ?, ?,"
                            " ?, ?, ?)",
                            [
                                result.host,
                                result.check_id,
                                result.status.value,
                                result.reason,
                                facts,
                                stamp,
                                stamp,
                                run_id,
                            ],
                        )
                elif key in live:
                    _close(db, live[key].id, "resolved", f"check is {result.status}", stamp)


def set_state(
    db: sqlite_utils.Database,
    incident_id: int,
    state: str,
    note: str,
    now: datetime,
    *,
    suppressed: bool | None = None,
) -> None:
    with transaction(db):
        if state == "resolved":
            _close(db, incident_id, state, note, iso(now))
            return
        db.execute(
            "UPDATE incidents SET state = ?, note = ?, updated_at = ?,"
            " suppressed = coalesce(?, suppressed) WHERE id = ?",
            [state, note, iso(now), None if suppressed is None else int(suppressed), incident_id],
        )


def _close(db: sqlite_utils.Database, incident_id: int, state: str, note: str, stamp: str) -> None:
    db.execute(
        "UPDATE incidents SET state = ?, note = ?, updated_at = ?, closed_at = ? WHERE id = ?",
        [state, note, stamp, stamp, incident_id],
    )


def recurrences(db: sqlite_utils.Database, host: str, check_id: str, since: datetime) -> int:
    """Incidents of (host, check) opened since ``since`` after an earlier one resolved."""
    row = db.execute(
        "SELECT count(*) FROM incidents WHERE host = ? AND check_id = ? AND opened_at >= ?"
        " AND EXISTS (SELECT 1 FROM incidents prior WHERE prior.host = incidents.host"
        " AND prior.check_id = incidents.check_id AND prior.state = 'resolved'"
        " AND prior.closed_at <= incidents.opened_at)",
        [host, check_id, iso(since)],
    ).fetchone()
    return int(row[0])


# --- actions: journalled before they run -------------------------------------------


@dataclass(frozen=True)
class Action:
    id: int
    incident_id: int
    host: str
    check_id: str
    runbook_id: str
    state: str
    pid: int | None
    node: str | None


def journal_action(
    db: sqlite_utils.Database,
    incident: Incident,
    runbook_id: str,
    rule_id: str | None,
    tier: str,
    now: datetime,
) -> int:
    """Write the action (and the incident's move to remediating) before anything runs."""
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO heal_actions (incident_id, host, check_id, runbook_id, rule_id, tier,"
            " state, pre_status, pid, node, started_at) VALUES (?, ?, ?, ?, ?, ?, 'journaled',"
            " ?, ?, ?, ?)",
            [
                incident.id,
                incident.host,
                incident.check_id,
                runbook_id,
                rule_id,
                tier,
                incident.status.value,
                os.getpid(),
                socket.gethostname(),
                iso(now),
            ],
        )
        db.execute(
            "UPDATE incidents SET state = 'remediating', attempts = attempts + 1, updated_at = ?"
            " WHERE id = ?",
            [iso(now), incident.id],
        )
    return int(cursor.lastrowid or 0)


ActionSealer = Callable[[sqlite_utils.Database, int], object]
"""Work on a finished action's row inside the transaction that finishes it: signing it
into the evidence log (osiris.heal.evidence.ActionSeal), counting it for its pattern."""


def finish_action(
    db: sqlite_utils.Database,
    action_id: int,
    state: str,
    post_status: str | None,
    detail: str,
    now: datetime,
    *,
    seal: ActionSealer,
    learn: ActionSealer | None = None,
) -> None:
    """Write the action's end. ``seal(db, action_id)`` runs in the same transaction,
    after the update, and appends the action's signed bundle; then ``learn(db,
    action_id)``, the flywheel's count. The finished row, its evidence and its count are
    committed together or not at all."""
    with transaction(db):
        db.execute(
            "UPDATE heal_actions SET state = ?, post_status = ?, detail = ?, finished_at = ?"
            " WHERE id = ?",
            [state, post_status, detail[-4000:], iso(now), action_id],
        )
        # the L2 answer that started this action (osiris.heal.l2.log) gets its outcome
        db.execute(
            "UPDATE l2_calls SET outcome = ?, finished_at = ? WHERE action_id = ?"
            " AND outcome IS NULL",
            [state, iso(now), action_id],
        )
        seal(db, action_id)
        if learn is not None:
            learn(db, action_id)


def mark_running(db: sqlite_utils.Database, action_id: int) -> None:
    with transaction(db):
        db.execute("UPDATE heal_actions SET state = 'running' WHERE id = ?", [action_id])


def unfinished_actions(db: sqlite_utils.Database) -> list[Action]:
    rows = db.execute(
        "SELECT id, incident_id, host, check_id, runbook_id, state, pid, node FROM heal_actions"
        " WHERE state IN ('journaled', 'running') ORDER BY id"
    ).fetchall()
    return [Action(*row) for row in rows]


def actions_since(db: sqlite_utils.Database, host: str, since: datetime) -> int:
    """Actions on ``host`` started since ``since`` (the circuit breaker's count)."""
    row = db.execute(
        "SELECT count(*) FROM heal_actions WHERE host = ? AND started_at >= ?",
        [host, iso(since)],
    ).fetchone()
    return int(row[0])


def last_action_at(db: sqlite_utils.Database, host: str, check_id: str) -> datetime | None:
    row = db.execute(
        "SELECT max(started_at) FROM heal_actions WHERE host = ? AND check_id = ?",
        [*incident_key(host, check_id)],
    ).fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def history(db: sqlite_utils.Database, limit: int = 50) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT id, incident_id, host, check_id, runbook_id, rule_id, tier, state, pre_status,"
            " post_status, started_at, finished_at, detail FROM heal_actions ORDER BY id DESC"
            " LIMIT :limit",
            {"limit": limit},
        )
    )


def recent_window(now: datetime, minutes: int) -> datetime:
    return now - timedelta(minutes=minutes)
