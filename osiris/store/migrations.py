"""Versioned schema migrations, applied in order; ``PRAGMA user_version`` is the version.

Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

from enum import StrEnum

from osiris.model import ActionState, ApprovalState, IncidentState, Status


def _values(enum: type[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum)


_STATUSES = _values(Status)


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
    # 2: evidence: signed envelopes, the append-only Merkle log, artifacts, checkpoints;
    # triggers refuse UPDATE and DELETE on them (contract 6: signed means frozen). They
    # stop mistakes; tampering on purpose is what `osiris verify` finds.
    """
    CREATE TABLE envelopes (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        host TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('scan', 'heal')),
        envelope TEXT NOT NULL,
        payload_sha256 TEXT NOT NULL,
        keyid TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX envelopes_by_run_host ON envelopes (run_id, host);
    CREATE TABLE log_leaves (
        idx INTEGER PRIMARY KEY,
        leaf_hash BLOB NOT NULL,
        envelope_id INTEGER NOT NULL UNIQUE REFERENCES envelopes(id)
    );
    CREATE TABLE log_nodes (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID;
    CREATE TABLE artifacts (
        sha256 TEXT PRIMARY KEY,
        content BLOB NOT NULL
    );
    CREATE TABLE checkpoints (
        id INTEGER PRIMARY KEY,
        tree_size INTEGER NOT NULL,
        root_hash BLOB NOT NULL,
        note TEXT NOT NULL,
        run_id INTEGER REFERENCES runs(id),
        created_at TEXT NOT NULL
    );
    CREATE TRIGGER envelopes_no_update BEFORE UPDATE ON envelopes
        BEGIN SELECT RAISE(ABORT, 'envelopes is append-only'); END;
    CREATE TRIGGER envelopes_no_delete BEFORE DELETE ON envelopes
        BEGIN SELECT RAISE(ABORT, 'envelopes is append-only'); END;
    CREATE TRIGGER log_leaves_no_update BEFORE UPDATE ON log_leaves
        BEGIN SELECT RAISE(ABORT, 'log_leaves is append-only'); END;
    CREATE TRIGGER log_leaves_no_delete BEFORE DELETE ON log_leaves
        BEGIN SELECT RAISE(ABORT, 'log_leaves is append-only'); END;
    CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes
        BEGIN SELECT RAISE(ABORT, 'log_nodes is append-only'); END;
    CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes
        BEGIN SELECT RAISE(ABORT, 'log_nodes is append-only'); END;
    CREATE TRIGGER artifacts_no_update BEFORE UPDATE ON artifacts
        BEGIN SELECT RAISE(ABORT, 'artifacts is append-only'); END;
    CREATE TRIGGER artifacts_no_delete BEFORE DELETE ON artifacts
        BEGIN SELECT RAISE(ABORT, 'artifacts is append-only'); END;
    CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
        BEGIN SELECT RAISE(ABORT, 'checkpoints is append-only'); END;
    CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
        BEGIN SELECT RAISE(ABORT, 'checkpoints is append-only'); END;
    """,
    # 3: heal: incidents (one live per host and check), journalled actions, risk
    # exceptions, the approval queue
    f"""
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    check_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ({_values(IncidentState)})),
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    facts TEXT,
    occurrences INTEGER NOT NULL DEFAULT 1,
    attempts INTEGER NOT NULL DEFAULT 0,
    suppressed INTEGER NOT NULL DEFAULT 0,
    note TEXT,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    last_run_id INTEGER REFERENCES runs(id)
);
CREATE UNIQUE INDEX incidents_one_live ON incidents (host, check_id) WHERE state != 'resolved';
CREATE INDEX incidents_by_state ON incidents (state, updated_at);
CREATE TABLE heal_actions (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    host TEXT NOT NULL,
    check_id TEXT NOT NULL,
    runbook_id TEXT NOT NULL,
    rule_id TEXT,
    tier TEXT NOT NULL CHECK (tier IN ('l1', 'l2')),
    state TEXT NOT NULL CHECK (state IN ({_values(ActionState)})),
    pre_status TEXT NOT NULL,
    post_status TEXT,
    detail TEXT,
    pid INTEGER,
    node TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX heal_actions_by_host_time ON heal_actions (host, started_at);
CREATE INDEX heal_actions_by_incident ON heal_actions (incident_id);
CREATE TABLE exceptions (
    id INTEGER PRIMARY KEY,
    check_id TEXT NOT NULL,
    host TEXT,
    reason TEXT NOT NULL,
    approver TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE approvals (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    host TEXT NOT NULL,
    check_id TEXT NOT NULL,
    runbook_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ({_values(ApprovalState)})),
    requested_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT
);
CREATE UNIQUE INDEX approvals_one_pending ON approvals (incident_id, runbook_id)
    WHERE state IN ('pending', 'approved');
    """,
    # 4: evidence keys and anchors. key_rotations: each new site key, certified by the
    # key before it (a DSSE envelope signed by both), valid for leaves from log_size on.
    # anchors: OpenTimestamps proofs of checkpoint notes; an upgrade appends a new row
    # for the same checkpoint (the newest row is the current proof). Both append-only.
    """
    CREATE TABLE key_rotations (
        seq INTEGER PRIMARY KEY,
        previous_keyid TEXT NOT NULL,
        keyid TEXT NOT NULL UNIQUE,
        public_key TEXT NOT NULL,
        log_size INTEGER NOT NULL,
        reason TEXT NOT NULL,
        rotated_at TEXT NOT NULL,
        envelope TEXT NOT NULL
    );
    CREATE TABLE anchors (
        id INTEGER PRIMARY KEY,
        checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id),
        digest TEXT NOT NULL,
        proof BLOB NOT NULL,
        complete INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX anchors_by_checkpoint ON anchors (checkpoint_id, id);
    CREATE TRIGGER key_rotations_no_update BEFORE UPDATE ON key_rotations
        BEGIN SELECT RAISE(ABORT, 'key_rotations is append-only'); END;
    CREATE TRIGGER key_rotations_no_delete BEFORE DELETE ON key_rotations
        BEGIN SELECT RAISE(ABORT, 'key_rotations is append-only'); END;
    CREATE TRIGGER anchors_no_update BEFORE UPDATE ON anchors
        BEGIN SELECT RAISE(ABORT, 'anchors is append-only'); END;
    CREATE TRIGGER anchors_no_delete BEFORE DELETE ON anchors
        BEGIN SELECT RAISE(ABORT, 'anchors is append-only'); END;
    """,
)


SCHEMA_VERSION = len(MIGRATIONS)
