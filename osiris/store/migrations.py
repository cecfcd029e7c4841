"""Versioned schema migrations, applied in order; ``PRAGMA user_version`` is the version.

Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

from osiris.model import Status

_STATUSES = ", ".join(f"'{s.value}'" for s in Status)

MIGRATIONS: tuple[str, ...] = (
    # 1: runs, hosts, per-host outcomes, results
    f"""
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL DEFAULT 'scan',
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL
            CHECK (status IN ('running', 'complete', 'interrupted', 'failed')),
        engine TEXT NOT NULL,
        pid INTEGER,
        node TEXT,
        inventory TEXT,
        host_count INTEGER NOT NULL DEFAULT 0,
        check_count INTEGER NOT NULL DEFAULT 0,
        osiris_version TEXT
    );
    CREATE TABLE hosts (
        name TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        connection TEXT NOT NULL,
        platform TEXT NOT NULL,
        role TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE TABLE host_runs (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        host TEXT NOT NULL REFERENCES hosts(name),
        reached INTEGER NOT NULL,
        error TEXT,
        duration_ms REAL NOT NULL,
        output_digest TEXT,
        PRIMARY KEY (run_id, host)
    );
    CREATE TABLE results (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        host TEXT NOT NULL REFERENCES hosts(name),
        check_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ({_STATUSES})),
        reason TEXT NOT NULL,
        facts TEXT,
        duration_ms REAL NOT NULL DEFAULT 0,
        probe_digest TEXT,
        UNIQUE (run_id, host, check_id)
    );
    CREATE INDEX results_by_host_check ON results (host, check_id, run_id);
    CREATE INDEX results_by_status ON results (run_id, status);
    """,
)


SCHEMA_VERSION = len(MIGRATIONS)
