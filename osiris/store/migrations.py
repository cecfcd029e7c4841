"""Versioned schema migrations, applied in order; ``PRAGMA user_version`` is the version.

Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

from enum import StrEnum

from osiris.model import (
    ActionState,
    ApprovalState,
    EscalationCategory,
    EscalationState,
    IncidentState,
    L2Verdict,
    Priority,
    Status,
)


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
    # flywheel: patterns (one row per pattern signature, its measured counts and whether
    # it is promoted to an L1 rule), the outcome each finished action contributed (keyed
    # by action: recording twice counts once) and promotions/demotions. The last two are
    # append-only audit logs.
    """
    CREATE TABLE patterns (
        signature TEXT PRIMARY KEY,
        signature_version INTEGER NOT NULL,
        check_id TEXT NOT NULL,
        platform TEXT NOT NULL,
        status TEXT NOT NULL,
        finding INTEGER NOT NULL,
        facts TEXT NOT NULL,
        runbook_id TEXT NOT NULL,
        occurrences INTEGER NOT NULL DEFAULT 0,
        l1_successes INTEGER NOT NULL DEFAULT 0,
        l1_failures INTEGER NOT NULL DEFAULT 0,
        l2_successes INTEGER NOT NULL DEFAULT 0,
        l2_failures INTEGER NOT NULL DEFAULT 0,
        unverified INTEGER NOT NULL DEFAULT 0,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        promoted_rule_id TEXT,
        promoted_at TEXT,
        demoted INTEGER NOT NULL DEFAULT 0,
        demoted_at TEXT,
        demoted_reason TEXT
    );
    CREATE INDEX patterns_by_check ON patterns (check_id, last_seen);
    CREATE TABLE pattern_outcomes (
        action_id INTEGER PRIMARY KEY REFERENCES heal_actions(id),
        signature TEXT NOT NULL REFERENCES patterns(signature),
        tier TEXT NOT NULL CHECK (tier IN ('l1', 'l2')),
        outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'unverified')),
        rule_id TEXT,
        host TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX pattern_outcomes_by_rule ON pattern_outcomes (signature, rule_id, recorded_at);
    CREATE TABLE pattern_events (
        id INTEGER PRIMARY KEY,
        signature TEXT NOT NULL REFERENCES patterns(signature),
        event TEXT NOT NULL CHECK (event IN ('promoted', 'demoted')),
        rule_id TEXT,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TRIGGER pattern_outcomes_no_update BEFORE UPDATE ON pattern_outcomes
        BEGIN SELECT RAISE(ABORT, 'pattern_outcomes is append-only'); END;
    CREATE TRIGGER pattern_outcomes_no_delete BEFORE DELETE ON pattern_outcomes
        BEGIN SELECT RAISE(ABORT, 'pattern_outcomes is append-only'); END;
    CREATE TRIGGER pattern_events_no_update BEFORE UPDATE ON pattern_events
        BEGIN SELECT RAISE(ABORT, 'pattern_events is append-only'); END;
    CREATE TRIGGER pattern_events_no_delete BEFORE DELETE ON pattern_events
        BEGIN SELECT RAISE(ABORT, 'pattern_events is append-only'); END;
    """,
    # L3 escalations: one live row per (host, check, category), its occurrences and who
    # acknowledged and resolved it; the notices queued for it (a first one, reminders
    # after the dedup window) and every delivery attempt per channel (append-only). No
    # secret is ever stored here: channel names only, never URLs or passwords.
    f"""
    CREATE TABLE escalations (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        host TEXT NOT NULL,
        check_id TEXT NOT NULL,
        category TEXT NOT NULL CHECK (category IN ({_values(EscalationCategory)})),
        priority TEXT NOT NULL CHECK (priority IN ({_values(Priority)})),
        severity TEXT NOT NULL,
        check_title TEXT NOT NULL,
        summary TEXT NOT NULL,
        guidance TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ({_values(EscalationState)})),
        occurrences INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        acknowledged_at TEXT,
        acknowledged_by TEXT,
        resolved_at TEXT,
        resolved_by TEXT,
        resolution_note TEXT
    );
    CREATE UNIQUE INDEX escalations_one_live ON escalations (host, check_id, category)
        WHERE state != 'resolved';
    CREATE INDEX escalations_by_state ON escalations (state, id);
    CREATE TABLE escalation_notices (
        id INTEGER PRIMARY KEY,
        escalation_id INTEGER NOT NULL REFERENCES escalations(id),
        kind TEXT NOT NULL CHECK (kind IN ('new', 'reminder')),
        state TEXT NOT NULL CHECK (state IN ('pending', 'sent')),
        created_at TEXT NOT NULL,
        started_at TEXT,
        sent_at TEXT
    );
    CREATE INDEX escalation_notices_by_escalation ON escalation_notices (escalation_id, id);
    CREATE INDEX escalation_notices_pending ON escalation_notices (state, id);
    CREATE INDEX escalation_notices_by_start ON escalation_notices (started_at);
    CREATE TABLE notice_attempts (
        id INTEGER PRIMARY KEY,
        notice_id INTEGER NOT NULL REFERENCES escalation_notices(id),
        channel TEXT NOT NULL,
        attempted_at TEXT NOT NULL,
        ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
        error TEXT
    );
    CREATE INDEX notice_attempts_by_notice ON notice_attempts (notice_id, channel);
    CREATE TRIGGER escalations_no_delete BEFORE DELETE ON escalations
        BEGIN SELECT RAISE(ABORT, 'escalations are kept'); END;
    CREATE TRIGGER escalations_stay_resolved BEFORE UPDATE OF state ON escalations
        WHEN OLD.state = 'resolved'
        BEGIN SELECT RAISE(ABORT, 'a resolved escalation stays resolved'); END;
    CREATE TRIGGER escalation_notices_no_delete BEFORE DELETE ON escalation_notices
        BEGIN SELECT RAISE(ABORT, 'escalation_notices are kept'); END;
    CREATE TRIGGER notice_attempts_no_update BEFORE UPDATE ON notice_attempts
        BEGIN SELECT RAISE(ABORT, 'notice_attempts is append-only'); END;
    CREATE TRIGGER notice_attempts_no_delete BEFORE DELETE ON notice_attempts
        BEGIN SELECT RAISE(ABORT, 'notice_attempts is append-only'); END;
    """,
    # L2 planner calls: one row per answer it used, asked (cached_from NULL: tokens and
    # cost as the API reported them) or reused from the decision cache (cached_from: the
    # call asked). Prompts are stored PHI-scrubbed, as sent; the API key never is. An
    # audit log: append-only, except that the action an answer started and that action's
    # outcome are filled in once, when they happen.
    f"""
    CREATE TABLE l2_calls (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        incident_id INTEGER REFERENCES incidents(id),
        host TEXT NOT NULL,
        check_id TEXT NOT NULL,
        signature TEXT NOT NULL,
        model TEXT NOT NULL,
        cached_from INTEGER REFERENCES l2_calls(id),
        prompt_digest TEXT,
        prompt TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cost REAL NOT NULL DEFAULT 0,
        decision TEXT,
        confidence REAL,
        reasoning TEXT,
        verdict TEXT NOT NULL CHECK (verdict IN ({_values(L2Verdict)})),
        reason TEXT NOT NULL,
        error TEXT,
        action_id INTEGER REFERENCES heal_actions(id),
        outcome TEXT CHECK (outcome IN ({_values(ActionState)})),
        finished_at TEXT
    );
    CREATE INDEX l2_calls_by_signature ON l2_calls (signature, at);
    CREATE INDEX l2_calls_by_time ON l2_calls (at);
    CREATE INDEX l2_calls_by_action ON l2_calls (action_id);
    CREATE TRIGGER l2_calls_no_delete BEFORE DELETE ON l2_calls
        BEGIN SELECT RAISE(ABORT, 'l2_calls is append-only'); END;
    CREATE TRIGGER l2_calls_no_update BEFORE UPDATE ON l2_calls
        WHEN OLD.outcome IS NOT NULL
            OR (OLD.action_id IS NOT NULL AND NEW.action_id IS NOT OLD.action_id)
            OR NEW.id IS NOT OLD.id
            OR NEW.at IS NOT OLD.at
            OR NEW.incident_id IS NOT OLD.incident_id
            OR NEW.host IS NOT OLD.host
            OR NEW.check_id IS NOT OLD.check_id
            OR NEW.signature IS NOT OLD.signature
            OR NEW.model IS NOT OLD.model
            OR NEW.cached_from IS NOT OLD.cached_from
            OR NEW.prompt_digest IS NOT OLD.prompt_digest
            OR NEW.prompt IS NOT OLD.prompt
            OR NEW.input_tokens IS NOT OLD.input_tokens
            OR NEW.output_tokens IS NOT OLD.output_tokens
            OR NEW.cost IS NOT OLD.cost
            OR NEW.decision IS NOT OLD.decision
            OR NEW.confidence IS NOT OLD.confidence
            OR NEW.reasoning IS NOT OLD.reasoning
            OR NEW.verdict IS NOT OLD.verdict
            OR NEW.reason IS NOT OLD.reason
            OR NEW.error IS NOT OLD.error
        BEGIN SELECT RAISE(ABORT, 'l2_calls is append-only but for action and outcome');
        END;
    """,
    # heal evidence: a heal action's bundle names its action (NULL for scan bundles); one
    # bundle per action. The envelopes triggers keep the column append-only as well. The
    # (run, host) index gains the kind, so `osiris verify` counts each host's scan bundles
    # from the index alone, without reading every envelope a second time.
    """
    ALTER TABLE envelopes ADD COLUMN action_id INTEGER REFERENCES heal_actions(id);
    CREATE UNIQUE INDEX envelopes_one_per_action ON envelopes (action_id)
        WHERE action_id IS NOT NULL;
    CREATE INDEX envelopes_by_run_host_kind ON envelopes (run_id, host, kind);
    DROP INDEX envelopes_by_run_host;
    """,
    # pattern findings are evaluate rule ids (signature version 2), not positions: the
    # column becomes TEXT, NULL when no rule fired. Version 1 rows keep their position as
    # '#N' (never a rule id: those start with a letter) and are history only. A table
    # rebuild (SQLite cannot change a column's type); migrate() runs it with foreign keys
    # off and checks them before it commits.
    """
    CREATE TABLE patterns_v2 (
        signature TEXT PRIMARY KEY,
        signature_version INTEGER NOT NULL,
        check_id TEXT NOT NULL,
        platform TEXT NOT NULL,
        status TEXT NOT NULL,
        finding TEXT,
        facts TEXT NOT NULL,
        runbook_id TEXT NOT NULL,
        occurrences INTEGER NOT NULL DEFAULT 0,
        l1_successes INTEGER NOT NULL DEFAULT 0,
        l1_failures INTEGER NOT NULL DEFAULT 0,
        l2_successes INTEGER NOT NULL DEFAULT 0,
        l2_failures INTEGER NOT NULL DEFAULT 0,
        unverified INTEGER NOT NULL DEFAULT 0,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        promoted_rule_id TEXT,
        promoted_at TEXT,
        demoted INTEGER NOT NULL DEFAULT 0,
        demoted_at TEXT,
        demoted_reason TEXT
    );
    INSERT INTO patterns_v2 SELECT signature, signature_version, check_id, platform, status,
        CASE WHEN finding < 0 THEN NULL ELSE '#' || finding END, facts, runbook_id,
        occurrences, l1_successes, l1_failures, l2_successes, l2_failures, unverified,
        first_seen, last_seen, promoted_rule_id, promoted_at, demoted, demoted_at,
        demoted_reason
        FROM patterns;
    DROP TABLE patterns;
    ALTER TABLE patterns_v2 RENAME TO patterns;
    CREATE INDEX patterns_by_check ON patterns (check_id, last_seen);
    """,
)


SCHEMA_VERSION = len(MIGRATIONS)
