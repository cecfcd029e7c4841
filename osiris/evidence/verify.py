"""`osiris verify`: prove offline that a site's evidence is complete, untampered and signed.

:func:`verify_log` checks every :class:`~osiris.evidence.report.Property` and returns a
:class:`~osiris.evidence.report.VerifyReport` naming each one that fails and why. It
trusts only the site's genesis public key(s) and, optionally, a checkpoint kept
elsewhere (an exported file, a copy central holds): never anything the database says
about itself. Keys that replaced the genesis key are trusted only through rotation
records each signed by the key before (:mod:`osiris.evidence.keys_check`), and each
only for its span of the log.

The log is always checked whole (every leaf hash, the root, every stored checkpoint);
``since`` limits the per-bundle checks (signature, payload, statement, results, actions,
completeness) to runs (and heal actions) started at or after it. Every stored value the
checks read is first checked for type and size: a log holding a wrong one is not whole,
and the checks that would read it are not run. A site with no database, or an emptied
one, is not whole either (:func:`missing_database`).

SIGINT and SIGTERM stop it at once (worker processes included) with
:class:`VerifyInterrupted`, which carries the report of what was checked so far.
"""

from __future__ import annotations

import hashlib
import signal
import time
from collections.abc import Sequence, Set

import sqlite_utils

from osiris.evidence.anchor import stored_anchors
from osiris.evidence.anchors_check import BlockHeader, check_timestamps
from osiris.evidence.bundles_check import Trust
from osiris.evidence.checkpoint import Checkpoint
from osiris.evidence.checkpoints_check import (
    check_checkpoint_roots,
    check_checkpoint_signatures,
    check_external_checkpoint,
)
from osiris.evidence.keys import log_origin
from osiris.evidence.keys_check import check_rotation_chain, check_rotation_roots
from osiris.evidence.log import stored_checkpoints
from osiris.evidence.merkle import MemoryTree
from osiris.evidence.report import Property, PropertyResult, VerifyReport
from osiris.evidence.rotation import Rotation, stored_rotations
from osiris.evidence.values_check import check_stored_values
from osiris.evidence.walk import bundle_checks
from osiris.interrupts import Interrupted

__all__ = ["BlockHeader", "Trust", "VerifyInterrupted", "missing_database", "verify_log"]

Leaf = tuple[int, bytes, int]  # (index, leaf hash, envelope id)


class VerifyInterrupted(Interrupted):
    """Verify was interrupted; ``report`` holds what was checked until then."""

    def __init__(self, signum: int, report: VerifyReport) -> None:
        super().__init__(signum)
        self.report = report


def missing_database(trust: Trust, problem: str, since: str | None = None) -> VerifyReport:
    """The report on a site whose database is missing or holds nothing (``problem`` says
    which): its key and config claim evidence that is not there."""
    report = VerifyReport(trust.site_id, log_origin(trust.site_id), sorted(trust.keys), since=since)
    report[Property.DATABASE].checked = 1
    report[Property.DATABASE].fail("osiris.db", problem)
    report.skip_all_but(Property.DATABASE, why="no database to check")
    return report


def verify_log(
    db: sqlite_utils.Database,
    trust: Trust,
    *,
    since: str | None = None,
    external_checkpoint: str | None = None,
    block_headers: Sequence[BlockHeader] | None = None,
    workers: int | None = None,
) -> VerifyReport:
    """Check every property of the site's evidence; see the module docstring.

    ``external_checkpoint``: a signed checkpoint note kept elsewhere, that the log must
    extend; ``block_headers``: Bitcoin block headers to check OpenTimestamps proofs
    against (without them, Bitcoin attestations are reported, not checked);
    ``workers``: processes for the per-bundle checks (default: one per CPU, used
    only for big logs)."""
    started = time.perf_counter()
    report = VerifyReport(trust.site_id, log_origin(trust.site_id), sorted(trust.keys), since=since)
    try:
        _verify(report, db, trust, external_checkpoint, block_headers, workers)
    except KeyboardInterrupt as exc:
        report.interrupted = True
        report.seconds = time.perf_counter() - started
        raise VerifyInterrupted(getattr(exc, "signum", signal.SIGINT), report) from None
    report.seconds = time.perf_counter() - started
    return report


def _verify(
    report: VerifyReport,
    db: sqlite_utils.Database,
    trust: Trust,
    external_checkpoint: str | None,
    block_headers: Sequence[BlockHeader] | None,
    workers: int | None,
) -> None:
    since = report.since
    report[Property.DATABASE].checked = 1
    check_stored_values(report[Property.STORED_VALUES], db)
    if not report[Property.STORED_VALUES].ok:
        report.skip_all_but(
            Property.DATABASE,
            Property.STORED_VALUES,
            why="not checked: stored values have the wrong type or size (see stored_values)",
        )
        return
    trust, rotations = _follow_rotations(report, db, trust)
    with bundle_checks(report, db, trust, since, workers=workers):
        leaves: list[Leaf] = [
            (idx, bytes(h), env_id)
            for idx, h, env_id in db.execute(
                "SELECT idx, leaf_hash, envelope_id FROM log_leaves ORDER BY idx"
            )
        ]
        check_log_order(report[Property.LOG_ORDER], leaves)
        tree = MemoryTree([h for _, h, _ in leaves])
        in_log = {env_id for _, _, env_id in leaves}
        del leaves
        report.log_size, report.root = tree.size, tree.root()
        check_tree_nodes(report[Property.TREE_NODES], db, tree)
        check_rotation_roots(report[Property.ROTATION_CHAIN], rotations, tree)
        validity = report[Property.KEY_VALIDITY]
        checkpoints = stored_checkpoints(db)
        signed = check_checkpoint_signatures(
            report[Property.CHECKPOINT_SIGNATURE], validity, checkpoints, trust
        )
        check_checkpoint_roots(report[Property.CHECKPOINT_ROOT], signed, tree)
        latest = signed[-1][1] if signed else None
        report.checkpoint_size = latest.size if latest else None
        check_external_checkpoint(
            report[Property.EXTERNAL_CHECKPOINT],
            validity,
            external_checkpoint,
            trust,
            tree,
            latest,
        )
        check_timestamps(
            report[Property.TIMESTAMPS],
            report.notes,
            stored_anchors(db),
            {c.id: c for c in checkpoints},
            block_headers,
        )
        check_artifacts(report[Property.ARTIFACTS], db)
        check_completeness(report[Property.COMPLETENESS], db, since, in_log)
    _add_notes(report, tree.size, latest)


def _follow_rotations(
    report: VerifyReport, db: sqlite_utils.Database, genesis: Trust
) -> tuple[Trust, list[Rotation]]:
    """The trust to check signatures with: the genesis keys, or the key chain their
    rotation records lead to."""
    rows = stored_rotations(db)
    chain, rotations = check_rotation_chain(
        report[Property.ROTATION_CHAIN], rows, genesis.keys, genesis.site_id
    )
    if not rows:
        report[Property.ROTATION_CHAIN].skipped = "the site key was never rotated"
    if chain is None:
        report[Property.KEY_VALIDITY].skipped = "one key for the whole log (no rotation)"
        return genesis, rotations
    report.keyids = [epoch.keyid for epoch in chain]
    return Trust(genesis.site_id, chain.keys, chain), rotations


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


# finished heal actions started in range, each with how many heal bundles it has
_ACTION_BUNDLES = (
    "SELECT a.id, a.host, a.state, (SELECT count(*) FROM envelopes e"
    " WHERE e.action_id = a.id AND e.kind = 'heal')"
    " FROM heal_actions a WHERE a.state NOT IN ('journaled', 'running')"
    " AND (:since IS NULL OR a.started_at >= :since) ORDER BY a.id"
)


def check_completeness(
    result: PropertyResult, db: sqlite_utils.Database, since: str | None, in_log: Set[int]
) -> None:
    """Every host outcome of every run has exactly one scan bundle; every finished heal
    action exactly one heal bundle; every bundle is a leaf of the log; every leaf's
    bundle exists (``in_log``: the envelope ids the leaves name)."""
    for run_id, host, bundles in db.execute(_HOST_RUN_BUNDLES, {"since": since}):
        result.checked += 1
        if bundles != 1:
            what = "no signed bundle" if bundles == 0 else f"{bundles} scan bundles, not one"
            result.fail(f"run {run_id}, host {host}", f"has {what}")
    for action_id, host, state, bundles in db.execute(_ACTION_BUNDLES, {"since": since}):
        result.checked += 1
        if bundles != 1:
            what = "no signed bundle" if bundles == 0 else f"{bundles} heal bundles, not one"
            result.fail(f"action {action_id} (host {host})", f"is {state} but has {what}")
    # the ids come from an index: a big log's envelopes are not read again for them
    stored = {env_id for (env_id,) in db.execute("SELECT id FROM envelopes")}
    for env_id in sorted(stored - in_log):
        result.fail(f"envelope {env_id}", "is not a leaf of the log")
    for env_id in sorted(in_log - stored):
        for (idx,) in db.execute("SELECT idx FROM log_leaves WHERE envelope_id = ?", [env_id]):
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
