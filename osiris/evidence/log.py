"""The per-site append-only Merkle log in SQLite (RFC 6962 hashing).

Tables (migration 2): ``envelopes`` (the signed DSSE envelopes; a heal action's bundle
names the action in ``action_id``), ``log_leaves`` (position → leaf hash → envelope),
``log_nodes`` (every complete perfect subtree above the leaves, so roots and proofs cost
O(log n) reads), ``artifacts`` (raw bytes by SHA-256) and ``checkpoints`` (signed C2SP
notes). Triggers make them append-only.

Appending happens inside the caller's ``BEGIN IMMEDIATE`` transaction (the one that
writes the results, or a heal action's final row), which SQLite serialises across
threads and processes: two writers can never take the same position, and a crash leaves
records and evidence together or not at all. ``log_nodes`` is a cache of the leaves;
``osiris verify`` recomputes it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlite_utils

from osiris.errors import OsirisError
from osiris.evidence.bundle import Bundle
from osiris.evidence.checkpoint import Checkpoint, sign_checkpoint
from osiris.evidence.keys import SiteSigner
from osiris.evidence.merkle import consistency_proof, inclusion_proof, node_hash, root
from osiris.evidence.rotation import current_keyid
from osiris.store.runs import now_iso, transaction


class LogError(OsirisError, RuntimeError):
    """The log cannot do what was asked (no transaction held, no such leaf)."""


class SqliteNodes:
    """A :class:`~osiris.evidence.merkle.NodeSource` reading the log's tables."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def node(self, level: int, index: int) -> bytes:
        if level == 0:
            row = self.conn.execute(
                "SELECT leaf_hash FROM log_leaves WHERE idx = ?", (index,)
            ).fetchone()
        else:
            row = self.conn.execute(
                "SELECT hash FROM log_nodes WHERE level = ? AND idx = ?", (level, index)
            ).fetchone()
        if row is None:
            raise LogError(f"the log has no node ({level}, {index}); run `osiris verify`")
        return bytes(row[0])


def tree_size(db: sqlite_utils.Database) -> int:
    """How many leaves the log holds."""
    return int(db.execute("SELECT coalesce(max(idx) + 1, 0) FROM log_leaves").fetchone()[0])


def append_bundles(db: sqlite_utils.Database, bundles: Sequence[Bundle]) -> list[int]:
    """Append sealed bundles as the next leaves; returns their leaf positions.

    Must run inside the caller's write transaction (``BEGIN IMMEDIATE``), so the
    bundles are committed with whatever else that transaction writes, or not at all.
    """
    conn = db.conn
    if not conn.in_transaction:
        raise LogError("append_bundles must run inside the caller's write transaction")
    if not bundles:
        return []
    _check_signing_key(db, {b.keyid for b in bundles})
    size = tree_size(db)
    first_id = int(conn.execute("SELECT coalesce(max(id), 0) + 1 FROM envelopes").fetchone()[0])
    stamp = now_iso()
    conn.executemany(
        "INSERT INTO envelopes (id, run_id, host, kind, envelope, payload_sha256, keyid,"
        " created_at, action_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (first_id + i, b.run_id, b.host, b.kind, b.envelope_json, b.payload_sha256,
             b.keyid, stamp, b.action_id)
            for i, b in enumerate(bundles)
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO log_leaves (idx, leaf_hash, envelope_id) VALUES (?, ?, ?)",
        [(size + i, b.leaf_hash, first_id + i) for i, b in enumerate(bundles)],
    )
    conn.executemany(
        "INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)",
        _new_nodes(SqliteNodes(conn), size, [b.leaf_hash for b in bundles]),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO artifacts (sha256, content) VALUES (?, ?)",
        [(a.sha256, a.content) for b in bundles for a in b.artifacts if a.content is not None],
    )
    return list(range(size, size + len(bundles)))


def _check_signing_key(db: sqlite_utils.Database, keyids: set[str]) -> None:
    """Refuse evidence signed by a key that a rotation has retired (a process that
    loaded the key before `osiris keys rotate` ran): verify would reject it."""
    current = current_keyid(db)
    if current is not None and keyids != {current}:
        raise LogError(
            f"the site key was rotated to {current[:16]} while this process signed with"
            f" {', '.join(sorted(k[:16] for k in keyids))}; run it again"
        )


def _new_nodes(
    stored: SqliteNodes, size: int, leaf_hashes: Sequence[bytes]
) -> list[tuple[int, int, bytes]]:
    """The perfect subtrees completed by appending ``leaf_hashes`` at ``size``."""
    fresh: dict[tuple[int, int], bytes] = {}
    created = []
    for offset, current in enumerate(leaf_hashes):
        index, level = size + offset, 0
        fresh[(0, index)] = current
        while index & 1:  # a right child: its parent is now complete
            left = fresh.get((level, index - 1)) or stored.node(level, index - 1)
            current = node_hash(left, current)
            level, index = level + 1, index >> 1
            fresh[(level, index)] = current
            created.append((level, index, current))
    return created


def current_root(db: sqlite_utils.Database, size: int | None = None) -> tuple[int, bytes]:
    """(size, root) of the log, or of its first ``size`` leaves."""
    size = tree_size(db) if size is None else size
    return size, root(SqliteNodes(db.conn), size)


@dataclass(frozen=True)
class StoredCheckpoint:
    """A row of ``checkpoints``: the columns are what the note claims, unverified."""

    id: int
    size: int
    root: bytes
    note: str
    run_id: int | None
    created_at: str


def write_checkpoint(
    db: sqlite_utils.Database, signer: SiteSigner, run_id: int | None = None
) -> StoredCheckpoint:
    """Sign and store a checkpoint of the whole log as it is now."""
    with transaction(db):
        _check_signing_key(db, {signer.keyid})
        size, tree_root = current_root(db)
        checkpoint = Checkpoint(signer.origin, size, tree_root)
        note = sign_checkpoint(checkpoint, signer.signing_key)
        stamp = now_iso()
        cursor = db.execute(
            "INSERT INTO checkpoints (tree_size, root_hash, note, run_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [size, tree_root, note, run_id, stamp],
        )
    return StoredCheckpoint(int(cursor.lastrowid or 0), size, tree_root, note, run_id, stamp)


def checkpoint_covering_all(
    db: sqlite_utils.Database, signer: Callable[[], SiteSigner]
) -> StoredCheckpoint:
    """The latest checkpoint if it covers every leaf, else a new one signed now
    (``signer`` is called only then: it may need to read the private key)."""
    rows = stored_checkpoints(db)
    if rows and rows[-1].size == tree_size(db):
        return rows[-1]
    return write_checkpoint(db, signer())


def stored_checkpoints(db: sqlite_utils.Database) -> list[StoredCheckpoint]:
    """Every checkpoint row, oldest first, as stored (nothing verified here)."""
    rows = db.execute(
        "SELECT id, tree_size, root_hash, note, run_id, created_at FROM checkpoints ORDER BY id"
    ).fetchall()
    return [StoredCheckpoint(row[0], row[1], bytes(row[2]), row[3], row[4], row[5]) for row in rows]


def latest_checkpoint_note(db: sqlite_utils.Database) -> str | None:
    """The newest signed checkpoint note, or None before the first run finished."""
    row = db.execute("SELECT note FROM checkpoints ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def leaf_index_of(db: sqlite_utils.Database, envelope_id: int) -> int:
    row = db.execute("SELECT idx FROM log_leaves WHERE envelope_id = ?", [envelope_id]).fetchone()
    if row is None:
        raise LogError(f"envelope {envelope_id} is not in the log")
    return int(row[0])


def prove_inclusion(db: sqlite_utils.Database, index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof for leaf ``index`` in the tree of ``size`` leaves."""
    return inclusion_proof(SqliteNodes(db.conn), index, size)


def prove_consistency(db: sqlite_utils.Database, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 consistency proof from the tree of ``old_size`` to ``new_size`` leaves."""
    return consistency_proof(SqliteNodes(db.conn), old_size, new_size)
