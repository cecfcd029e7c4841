"""Runs, hosts and results: the writes a scan makes and the queries the CLI shows.

A run's host outcome (host row, per-host row, every result) is written in one
transaction, so an interrupted scan leaves whole hosts or nothing. A run left
``running`` by a killed process is marked ``interrupted`` by the next writer.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlite_utils

from osiris import __version__
from osiris.model import HostOutcome, Status


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (Ctrl-C included)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def start_run(
    db: sqlite_utils.Database,
    *,
    engine: str,
    inventory: Iterable[str],
    host_count: int,
    check_count: int,
) -> int:
    reconcile_abandoned_runs(db)
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO runs (started_at, status, engine, pid, node, inventory, host_count,"
            " check_count, osiris_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                now_iso(),
                RunStatus.RUNNING.value,
                engine,
                os.getpid(),
                socket.gethostname(),
                json.dumps(list(inventory)),
                host_count,
                check_count,
                __version__,
            ],
        )
    return int(cursor.lastrowid or 0)


def record_host(
    db: sqlite_utils.Database,
    run_id: int,
    outcome: HostOutcome,
    *,
    within: Callable[[], object] | None = None,
) -> None:
    """Write one host's outcome and all its results atomically.

    ``within`` runs inside the same transaction after the result rows (the evidence
    log appends the host's signed bundle there); if it raises, nothing is written.
    """
    record_hosts(db, run_id, [outcome], within=within)


def record_hosts(
    db: sqlite_utils.Database,
    run_id: int,
    outcomes: Sequence[HostOutcome],
    *,
    within: Callable[[], object] | None = None,
) -> None:
    """Write several hosts' outcomes (one row each in ``hosts`` and ``host_runs``,
    every result) and then run ``within``, all in one transaction: one commit instead
    of one per host when the outcomes arrive together."""
    stamp = now_iso()
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO hosts (name, address, connection, platform, role, first_seen, last_seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
            " address=excluded.address, connection=excluded.connection,"
            " platform=excluded.platform, role=excluded.role, last_seen=excluded.last_seen",
            [
                (
                    o.host.name,
                    o.host.address,
                    o.host.connection.value,
                    o.host.platform.value,
                    o.host.role.value,
                    stamp,
                    stamp,
                )
                for o in outcomes
            ],
        )
        db.conn.executemany(
            "INSERT INTO host_runs (run_id, host, reached, error, duration_ms, output_digest)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    o.host.name,
                    o.error is None,
                    o.error,
                    round(o.duration_ms, 3),
                    o.raw_output_digest,
                )
                for o in outcomes
            ],
        )
        db.conn.executemany(
            "INSERT INTO results (run_id, host, check_id, status, reason, facts, duration_ms,"
            " probe_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    r.host,
                    r.check_id,
                    r.status.value,
                    r.reason,
                    facts_json(r.facts),
                    round(r.duration_ms, 3),
                    r.probe_digest,
                )
                for o in outcomes
                for r in o.results
            ],
        )
        if within is not None:
            within()


def facts_json(facts: dict[str, Any] | None) -> str | None:
    """How a result's facts are stored: JSON with sorted keys. Defined once, so the
    evidence verifier can compare stored facts with signed ones without parsing them."""
    return None if facts is None else _FACTS_ENCODER.encode(facts)


_FACTS_ENCODER = json.JSONEncoder(sort_keys=True)


def finish_run(db: sqlite_utils.Database, run_id: int, status: RunStatus) -> None:
    with transaction(db):
        db.execute(
            "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
            [status.value, now_iso(), run_id],
        )


def reconcile_abandoned_runs(db: sqlite_utils.Database) -> int:
    """Mark runs whose process died (kill -9, power loss) as interrupted."""
    node = socket.gethostname()
    rows = db.execute(
        "SELECT id, pid, node FROM runs WHERE status = ?", [RunStatus.RUNNING.value]
    ).fetchall()
    # another node's run cannot be probed; it is marked only when that node is ours
    dead = [run_id for run_id, pid, n in rows if n == node and not process_alive(pid)]
    if dead:
        with transaction(db):
            db.conn.executemany(
                "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                [(RunStatus.INTERRUPTED.value, now_iso(), run_id) for run_id in dead],
            )
    return len(dead)


def process_alive(pid: int | None) -> bool:
    """Is ``pid`` a live process of this machine other than this one?"""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


@dataclass(frozen=True)
class RunSummary:
    id: int
    started_at: str
    finished_at: str | None
    status: str
    engine: str
    host_count: int
    check_count: int
    counts: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def list_runs(db: sqlite_utils.Database, limit: int = 20) -> list[RunSummary]:
    rows = db.execute(
        "SELECT id, started_at, finished_at, status, engine, host_count, check_count"
        " FROM runs ORDER BY id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [
        RunSummary(
            id=row[0],
            started_at=row[1],
            finished_at=row[2],
            status=row[3],
            engine=row[4],
            host_count=row[5],
            check_count=row[6],
            counts=status_counts(db, row[0]),
        )
        for row in rows
    ]


def status_counts(db: sqlite_utils.Database, run_id: int) -> dict[str, int]:
    counts = {s.value: 0 for s in Status}
    for status, n in db.execute(
        "SELECT status, count(*) FROM results WHERE run_id = ? GROUP BY status", [run_id]
    ):
        counts[status] = n
    return counts


def latest_run_id(db: sqlite_utils.Database) -> int | None:
    row = db.execute("SELECT max(id) FROM runs").fetchone()
    return row[0] if row and row[0] is not None else None


def query_results(
    db: sqlite_utils.Database,
    *,
    run_id: int | None = None,
    host: str | None = None,
    status: Status | None = None,
) -> list[dict[str, Any]]:
    """Results of one run (default: the latest), filtered by host and status."""
    run_id = run_id if run_id is not None else latest_run_id(db)
    if run_id is None:
        return []
    host_value = host or None
    status_value = status.value if status else None
    rows = db.query(
        "SELECT run_id, host, check_id, status, reason, facts, duration_ms, probe_digest"
        " FROM results WHERE run_id = :run AND (:host IS NULL OR host = :host)"
        " AND (:status IS NULL OR status = :status) ORDER BY host, check_id",
        {"run": run_id, "host": host_value, "status": status_value},
    )
    return [{**row, "facts": json.loads(row["facts"]) if row["facts"] else None} for row in rows]
