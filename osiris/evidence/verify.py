"""`osiris verify`: prove offline that a site's evidence is complete, untampered and signed.

:func:`verify_log` checks every :class:`~osiris.evidence.report.Property` and returns a
:class:`~osiris.evidence.report.VerifyReport` naming each one that fails and why. It
trusts only the site's public key(s) and, optionally, a checkpoint kept elsewhere (an
exported file, a copy central holds): never anything the database says about itself.

The log is always checked whole (every leaf hash, the root, every stored checkpoint);
``since`` limits the per-bundle checks (signature, payload, statement, results,
completeness) to runs started at or after it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

import sqlite_utils

from osiris.evidence.bundles_check import Trust
from osiris.evidence.checkpoint import Checkpoint, CheckpointError, verify_checkpoint
from osiris.evidence.keys import log_origin
from osiris.evidence.log import StoredCheckpoint, stored_checkpoints
from osiris.evidence.merkle import MemoryTree, ProofError, consistency_proof, verify_consistency
from osiris.evidence.report import Property, PropertyResult, VerifyReport
from osiris.evidence.walk import bundle_checks

__all__ = ["Trust", "verify_log"]

Leaf = tuple[int, bytes, int]  # (index, leaf hash, envelope id)


def verify_log(
    db: sqlite_utils.Database,
    trust: Trust,
    *,
    since: str | None = None,
    external_checkpoint: str | None = None,
    workers: int | None = None,
) -> VerifyReport:
    """Check every property of the site's evidence; see the module docstring.
    ``workers``: processes for the per-bundle checks (default: one per CPU, used
    only for big logs)."""
    started = time.perf_counter()
    origin = log_origin(trust.site_id)
    report = VerifyReport(trust.site_id, origin, sorted(trust.keys), since=since)
    with bundle_checks(report, db, trust, since, workers=workers):
        leaves: list[Leaf] = [
            (idx, bytes(h), env_id)
            for idx, h, env_id in db.execute(
                "SELECT idx, leaf_hash, envelope_id FROM log_leaves ORDER BY idx"
            )
        ]
        check_log_order(report[Property.LOG_ORDER], leaves)
        tree = MemoryTree([h for _, h, _ in leaves])
        del leaves
        report.log_size, report.root = tree.size, tree.root()
        check_tree_nodes(report[Property.TREE_NODES], db, tree)
        signed = check_checkpoint_signatures(
            report[Property.CHECKPOINT_SIGNATURE], stored_checkpoints(db), trust
        )
        check_checkpoint_roots(report[Property.CHECKPOINT_ROOT], signed, tree)
        latest = signed[-1][1] if signed else None
        report.checkpoint_size = latest.size if latest else None
        check_external_checkpoint(
            report[Property.EXTERNAL_CHECKPOINT], external_checkpoint, trust, tree, latest
        )
        check_artifacts(report[Property.ARTIFACTS], db)
        check_completeness(report[Property.COMPLETENESS], db, since)
    _add_notes(report, tree.size, latest)
    report.seconds = time.perf_counter() - started
    return report


def check_log_order(result: PropertyResult, leaves: Sequence[Leaf]) -> None:
    """Leaves are numbered 0..n-1 with no gap, and later leaves hold later envelopes."""
    previous_env = 0
    for position, (idx, _, env_id) in enumerate(leaves):
        result.checked += 1
        if idx != position:
            result.fail(f"leaf {idx}", f"expected leaf {position} here: the log has a gap")
            return
        if env_id <= previous_env:
            result.fail(
                f"leaf {idx}",
                f"holds envelope {env_id} after envelope {previous_env}: leaves were reordered",
            )
        previous_env = env_id


def check_tree_nodes(result: PropertyResult, db: sqlite_utils.Database, tree: MemoryTree) -> None:
    """Every stored interior node equals the one recomputed from the leaves, and none
    is missing (they serve roots and proofs, so a bad one would mislead both)."""
    expected = sum(len(level) for level in tree.levels[1:])
    seen = 0
    for level, idx, stored in db.execute("SELECT level, idx, hash FROM log_nodes"):
        seen += 1
        result.checked += 1
        inside = 0 < level < len(tree.levels) and 0 <= idx < len(tree.levels[level])
        if not inside or tree.levels[level][idx] != bytes(stored):
            result.fail(f"node ({level}, {idx})", "does not match the leaves beneath it")
    if seen != expected:
        result.fail("log_nodes", f"{seen} interior nodes stored, {expected} expected")


def check_checkpoint_signatures(
    result: PropertyResult, rows: Sequence[StoredCheckpoint], trust: Trust
) -> list[tuple[StoredCheckpoint, Checkpoint]]:
    """Each stored checkpoint note is for this log and signed by a site key; returns
    those that are, with what they sign."""
    good = []
    for row in rows:
        result.checked += 1
        try:
            checkpoint = _open_checkpoint(row.note, trust)
        except CheckpointError as exc:
            result.fail(f"checkpoint {row.id}", str(exc))
            continue
        good.append((row, checkpoint))
    return good


def _open_checkpoint(note: str, trust: Trust) -> Checkpoint:
    origin = log_origin(trust.site_id)
    error: CheckpointError | None = None
    for key in trust.keys.values():
        try:
            return verify_checkpoint(note, origin, key)
        except CheckpointError as exc:
            error = exc
    raise error or CheckpointError("no site key to verify with")


def check_checkpoint_roots(
    result: PropertyResult, signed: Sequence[tuple[StoredCheckpoint, Checkpoint]], tree: MemoryTree
) -> None:
    """The log still hashes to every signed checkpoint's root at its size, and no
    checkpoint is smaller than one before it."""
    previous = 0
    for row, checkpoint in signed:
        result.checked += 1
        subject = f"checkpoint {row.id} ({checkpoint.size} leaves)"
        if (row.size, row.root) != (checkpoint.size, checkpoint.root):
            result.fail(subject, "its columns disagree with its signed note")
        if checkpoint.size < previous:
            result.fail(subject, f"smaller than an earlier checkpoint ({previous} leaves)")
        previous = max(previous, checkpoint.size)
        if checkpoint.size > tree.size:
            result.fail(
                subject,
                f"the log has only {tree.size} leaves: leaves were removed (truncated log)",
            )
        elif tree.root(checkpoint.size) != checkpoint.root:
            result.fail(
                subject,
                f"the first {checkpoint.size} leaves no longer hash to its root: a leaf was"
                " changed, removed, inserted or reordered",
            )


def check_external_checkpoint(
    result: PropertyResult,
    note: str | None,
    trust: Trust,
    tree: MemoryTree,
    latest: Checkpoint | None,
) -> None:
    """A checkpoint kept outside this database is signed by the site, and the log
    extends it append-only (no fork, no shrink), also as a third party would check:
    by an RFC 9162 consistency proof to the latest stored checkpoint."""
    if note is None:
        result.skipped = "no --checkpoint given"
        return
    result.checked += 1
    try:
        kept = _open_checkpoint(note, trust)
    except CheckpointError as exc:
        result.fail("checkpoint file", f"{exc} (was the site key replaced?)")
        return
    subject = f"checkpoint file ({kept.size} leaves)"
    if kept.size > tree.size:
        result.fail(
            subject,
            f"the log has only {tree.size} leaves: it shrank or was replaced since",
        )
        return
    if tree.root(kept.size) != kept.root:
        result.fail(subject, f"the log's first {kept.size} leaves hash to another root: it forked")
        return
    if latest is not None and latest.size >= kept.size:
        proof = consistency_proof(tree, kept.size, latest.size)
        try:
            verify_consistency(kept.size, latest.size, kept.root, latest.root, proof)
        except ProofError as exc:
            result.fail(subject, f"no consistency with the latest checkpoint: {exc}")


def check_artifacts(result: PropertyResult, db: sqlite_utils.Database) -> None:
    """Every stored raw artifact hashes to the digest it is filed under."""
    for digest, content in db.execute("SELECT sha256, content FROM artifacts"):
        result.checked += 1
        if hashlib.sha256(bytes(content)).hexdigest() != digest:
            result.fail(f"artifact {digest[:16]}", "its bytes hash to another digest")


# host outcomes of the runs in range, each with how many scan bundles it has
_HOST_RUN_BUNDLES = (
    "SELECT hr.run_id, hr.host, (SELECT count(*) FROM envelopes e"
    " WHERE e.run_id = hr.run_id AND e.host = hr.host AND e.kind = 'scan')"
    " FROM host_runs hr LEFT JOIN runs r ON r.id = hr.run_id"
    " WHERE :since IS NULL OR r.started_at IS NULL OR r.started_at >= :since"
    " ORDER BY hr.run_id, hr.host"
)


def check_completeness(
    result: PropertyResult, db: sqlite_utils.Database, since: str | None
) -> None:
    """Every host outcome of every run has exactly one scan bundle; every bundle is a
    leaf of the log; every leaf's bundle exists."""
    for run_id, host, bundles in db.execute(_HOST_RUN_BUNDLES, {"since": since}):
        result.checked += 1
        if bundles != 1:
            what = "no signed bundle" if bundles == 0 else f"{bundles} scan bundles, not one"
            result.fail(f"run {run_id}, host {host}", f"has {what}")
    for (env_id,) in db.execute(
        "SELECT id FROM envelopes WHERE id NOT IN (SELECT envelope_id FROM log_leaves)"
    ):
        result.fail(f"envelope {env_id}", "is not a leaf of the log")
    for idx, env_id in db.execute(
        "SELECT idx, envelope_id FROM log_leaves"
        " WHERE envelope_id NOT IN (SELECT id FROM envelopes)"
    ):
        result.fail(f"leaf {idx}", f"names envelope {env_id}, which is missing")


def _add_notes(report: VerifyReport, size: int, latest: Checkpoint | None) -> None:
    if size == 0:
        report.notes.append("the log is empty: no scan has been recorded yet")
    covered = latest.size if latest else 0
    if size > covered:
        report.notes.append(
            f"{size - covered} leaves are newer than the latest signed checkpoint (a scan in"
            " progress or interrupted); the next run's checkpoint will cover them"
        )
    if report[Property.EXTERNAL_CHECKPOINT].skipped:
        report.notes.append(
            "no checkpoint kept elsewhere was given: a log replaced whole with its checkpoints"
            " can only be caught with one (`osiris checkpoint export FILE`, then"
            " `osiris verify --checkpoint FILE`)"
        )
