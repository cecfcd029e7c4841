"""One pass over the stored bundles, through every per-bundle check.

Envelopes are read in id order with their leaf hash; each run's host outcomes and
result rows are loaded once (a few runs are kept, for scans that ran side by side).
A big log is split into envelope-id ranges checked by worker processes, each with its
own read-only connection: Ed25519 verification is most of the cost, and it scales
with cores. Workers are started with ``spawn`` (no SQLite handle crosses a fork).
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils
from nacl.signing import VerifyKey

from osiris.evidence.bundles_check import (
    RunRecords,
    StoredEnvelope,
    Trust,
    check_envelope_signature,
    check_payload_digest,
    check_results_match,
    check_statement,
)
from osiris.evidence.dsse import Envelope, EnvelopeError
from osiris.evidence.report import MAX_LISTED, Property, PropertyResult, VerifyReport
from osiris.store.db import database_path

PARALLEL_MIN = 20_000  # envelopes; below this one process is quicker than starting workers
CHUNK = (2_000, 50_000)  # envelopes per task handed to a worker: at least, at most
_RUNS_KEPT = 16
_BUNDLE_PROPERTIES = (
    Property.ENVELOPE_SIGNATURE,
    Property.PAYLOAD_DIGEST,
    Property.STATEMENT,
    Property.RESULTS_MATCH,
)
IdRange = tuple[int, int]


@contextmanager
def bundle_checks(
    report: VerifyReport,
    db: sqlite_utils.Database,
    trust: Trust,
    since: str | None,
    *,
    workers: int | None = None,
) -> Iterator[None]:
    """Check every stored envelope (of runs started at or after ``since``); the
    findings are in ``report`` when the block ends.

    A big log is handed to ``workers`` processes (default: one per CPU) as the block
    starts, so the caller's own checks run meanwhile; a small one is checked in this
    process when the block ends.
    """
    low, high = db.execute("SELECT min(id), max(id) FROM envelopes").fetchone()
    total = 0 if low is None else high - low + 1
    jobs = workers if workers is not None else min(os.cpu_count() or 1, 8)
    path = database_path(db)
    if jobs <= 1 or total < PARALLEL_MIN or path is None:
        yield
        _merge_parts(report, [check_range(db, trust, since, None)])
        return
    size = max(CHUNK[0], min(CHUNK[1], total // (jobs * 4)))
    ranges = [(lo, min(lo + size - 1, high)) for lo in range(low, high + 1, size)]
    keys = {k: bytes(v) for k, v in trust.keys.items()}
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            pool.submit(_check_in_worker, str(path), trust.site_id, keys, since, r) for r in ranges
        ]
        try:
            yield
            parts = [f.result() for f in futures]
        except BrokenProcessPool:
            # workers could not start: a caller's script without the
            # `if __name__ == "__main__":` guard that `spawn` needs; check here instead
            parts = [check_range(db, trust, since, None)]
        finally:
            for future in futures:
                future.cancel()
    _merge_parts(report, parts)


def _merge_parts(report: VerifyReport, parts: list[dict[Property, PropertyResult]]) -> None:
    for part in parts:
        for prop, found in part.items():
            _merge(report[prop], found)


def _merge(into: PropertyResult, part: PropertyResult) -> None:
    into.checked += part.checked
    into.failure_count += part.failure_count
    into.failures.extend(part.failures[: MAX_LISTED - len(into.failures)])


def _check_in_worker(
    path: str, site_id: str, keys: dict[str, bytes], since: str | None, ids: IdRange
) -> dict[Property, PropertyResult]:
    conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, timeout=30.0)
    try:
        trust = Trust(site_id, {k: VerifyKey(v) for k, v in keys.items()})
        return check_range(sqlite_utils.Database(conn), trust, since, ids)
    finally:
        conn.close()


def check_range(
    db: sqlite_utils.Database, trust: Trust, since: str | None, ids: IdRange | None
) -> dict[Property, PropertyResult]:
    """The per-bundle properties of the envelopes with ids in ``ids`` (all when None)."""
    found = {prop: PropertyResult(prop) for prop in _BUNDLE_PROPERTIES}
    signature = found[Property.ENVELOPE_SIGNATURE]
    for row, run in _stored(db, since, ids):
        env = _decode(row)
        if isinstance(env, str):
            signature.checked += 1
            signature.fail(f"envelope {row[0]} (run {row[1]}, host {row[2]})", env)
            continue
        check_envelope_signature(signature, env, trust)
        check_payload_digest(found[Property.PAYLOAD_DIGEST], env)
        document = check_statement(found[Property.STATEMENT], env, trust)
        if document is not None:
            check_results_match(found[Property.RESULTS_MATCH], env, document, run)
    return found


def _stored(
    db: sqlite_utils.Database, since: str | None, ids: IdRange | None
) -> Iterator[tuple[tuple[Any, ...], RunRecords]]:
    runs: OrderedDict[int, RunRecords] = OrderedDict()
    lo, hi = ids if ids else (None, None)
    for row in db.execute(
        "SELECT e.id, e.run_id, e.host, e.kind, e.envelope, e.payload_sha256, l.leaf_hash"
        " FROM envelopes e LEFT JOIN log_leaves l ON l.envelope_id = e.id"
        " LEFT JOIN runs r ON r.id = e.run_id"
        " WHERE (:lo IS NULL OR e.id BETWEEN :lo AND :hi)"
        " AND (:since IS NULL OR r.started_at IS NULL OR r.started_at >= :since)"
        " ORDER BY e.id",
        {"lo": lo, "hi": hi, "since": since},
    ):
        run = runs.get(row[1])
        if run is None:
            run = runs[row[1]] = _run_records(db, row[1])
            if len(runs) > _RUNS_KEPT:
                runs.popitem(last=False)
        yield row, run


def _run_records(db: sqlite_utils.Database, run_id: int) -> RunRecords:
    exists = db.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone() is not None
    records = RunRecords(exists)
    for host, reached, error, digest in db.execute(
        "SELECT host, reached, error, output_digest FROM host_runs WHERE run_id = ?", [run_id]
    ):
        records.host_runs[host] = (bool(reached), error, digest)
    for host, check_id, status, reason, probe_digest, facts in db.execute(
        "SELECT host, check_id, status, reason, probe_digest, facts FROM results WHERE run_id = ?",
        [run_id],
    ):
        records.results.setdefault(host, []).append((check_id, status, reason, probe_digest, facts))
    return records


def _decode(row: tuple[Any, ...]) -> StoredEnvelope | str:
    env_id, run_id, host, kind, text, payload_sha256, leaf = row
    try:
        envelope = Envelope.from_json(text)
    except EnvelopeError as exc:
        return str(exc)
    leaf_hash = None if leaf is None else bytes(leaf)
    return StoredEnvelope(env_id, run_id, host, kind, payload_sha256, envelope, leaf_hash)
