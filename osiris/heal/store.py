"""Reading and writing incidents, actions, exceptions and approvals.

Every key is built here once (contract: one function builds every key); callers never
compose (host, check) lookups of their own.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlite_utils

from osiris.model import CheckResult, HostOutcome, IncidentState, Status
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


@dataclass(frozen=True)
class IncidentChanges:
    """What a scan's results do to the live incidents. Deciding this is pure, so a dry
    run sees the incidents a real heal would plan on without writing them."""

    opened: tuple[CheckResult, ...] = ()
    bumped: tuple[tuple[Incident, CheckResult], ...] = ()
    resolved: tuple[tuple[Incident, CheckResult], ...] = ()


def incident_changes(live: Sequence[Incident], outcomes: Iterable[HostOutcome]) -> IncidentChanges:
    """Drift (warning, fail) and error open an incident per (host, check) or bump the
    live one; a check that now passes (or no longer applies) resolves its live incident."""
    by_key = {i.key: i for i in live}
    opened, bumped, resolved = [], [], []
    for outcome in outcomes:
        for result in outcome.results:
            incident = by_key.get(incident_key(result.host, result.check_id))
            if result.status.is_drift or result.status is Status.ERROR:
                if incident is None:
                    opened.append(result)
                else:
                    bumped.append((incident, result))
            elif incident is not None:
                resolved.append((incident, result))
    return IncidentChanges(tuple(opened), tuple(bumped), tuple(resolved))


def incidents_after(
    live: Sequence[Incident], changes: IncidentChanges, now: datetime
) -> list[Incident]:
    """The live incidents as :func:`sync_incidents` would leave them, in memory and in
    the same order. An opened one has no id yet: it gets a provisional one below zero."""
    stamp = iso(now)
    gone = {incident.id for incident, _ in changes.resolved}
    updated = {
        incident.id: replace(
            incident,
            status=result.status,
            reason=result.reason,
            facts=result.facts,
            occurrences=incident.occurrences + 1,
            updated_at=stamp,
        )
        for incident, result in changes.bumped
    }
    after = [updated.get(i.id, i) for i in live if i.id not in gone]
    for number, result in enumerate(changes.opened, 1):
        after.append(
            Incident(
                id=-number,
                host=result.host,
                check_id=result.check_id,
                state=IncidentState.OPEN.value,
                status=result.status,
                reason=result.reason,
                facts=result.facts,
                occurrences=1,
                attempts=0,
                suppressed=False,
                opened_at=stamp,
                updated_at=stamp,
            )
        )
    return after


def sync_incidents(
    db: sqlite_utils.Database, run_id: int, outcomes: Iterable[HostOutcome], now: datetime
) -> None:
    """Write :func:`incident_changes` of a scan's results, in one transaction."""
    changes = incident_changes(live_incidents(db), outcomes)
    stamp = iso(now)
    with transaction(db):
        for incident, result in changes.bumped:
            db.execute(
                "UPDATE incidents SET status = ?, reason = ?, facts = ?,"
                " occurrences = occurrences + 1, updated_at = ?, last_run_id = ? WHERE id = ?",
                [result.status.value, result.reason, _facts(result), stamp, run_id, incident.id],
            )
        for result in changes.opened:
            db.execute(
                "INSERT INTO incidents (host, check_id, state, status, reason, facts,"
                " opened_at, updated_at, last_run_id) VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?)",
                [
                    result.host,
                    result.check_id,
                    result.status.value,
                    result.reason,
                    _facts(result),
                    stamp,
                    stamp,
                    run_id,
                ],
            )
        for incident, result in changes.resolved:
            _close(db, incident.id, "resolved", f"check is {result.status}", stamp)


def _facts(result: CheckResult) -> str | None:
    return None if result.facts is None else json.dumps(result.facts, sort_keys=True)


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


def recurrences_since(db: sqlite_utils.Database, since: datetime) -> dict[tuple[str, str], int]:
    """Per (host, check): incidents opened since ``since`` after an earlier one resolved."""
    rows = db.execute(
        "SELECT host, check_id, count(*) FROM incidents WHERE opened_at >= ?"
        " AND EXISTS (SELECT 1 FROM incidents prior WHERE prior.host = incidents.host"
        " AND prior.check_id = incidents.check_id AND prior.state = 'resolved'"
        " AND prior.closed_at <= incidents.opened_at) GROUP BY host, check_id",
        [iso(since)],
    ).fetchall()
    return {incident_key(host, check_id): int(count) for host, check_id, count in rows}


def resolved_keys(db: sqlite_utils.Database) -> set[tuple[str, str]]:
    """The (host, check) pairs with a resolved incident: one opened now is a recurrence."""
    rows = db.execute(
        "SELECT DISTINCT host, check_id FROM incidents WHERE state = 'resolved'"
    ).fetchall()
    return {incident_key(host, check_id) for host, check_id in rows}


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


def actions_per_host_since(db: sqlite_utils.Database, since: datetime) -> dict[str, int]:
    """Actions started on each host since ``since`` (the circuit breaker's count)."""
    rows = db.execute(
        "SELECT host, count(*) FROM heal_actions WHERE started_at >= ? GROUP BY host",
        [iso(since)],
    ).fetchall()
    return {host: int(count) for host, count in rows}


def last_actions(db: sqlite_utils.Database) -> dict[tuple[str, str], datetime]:
    """When the last action on each (host, check) started (the cooldowns)."""
    rows = db.execute(
        "SELECT host, check_id, max(started_at) FROM heal_actions GROUP BY host, check_id"
    ).fetchall()
    return {incident_key(h, c): datetime.fromisoformat(at) for h, c, at in rows if at}


def history(db: sqlite_utils.Database, limit: int = 50) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT id, incident_id, host, check_id, runbook_id, rule_id, tier, state, pre_status,"
            " post_status, started_at, finished_at, detail FROM heal_actions ORDER BY id DESC"
            " LIMIT :limit",
            {"limit": limit},
        )
    )
