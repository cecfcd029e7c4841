"""One pass over the stored bundles, through every per-bundle check.

Envelopes are read in id order with their leaf hash; each run's host outcomes and
result rows are loaded once (a few runs are kept, for scans that ran side by side); a
heal bundle's action row is read with it.
A big log is split into envelope-id ranges checked by worker processes, each with its
own read-only connection, opened the way the caller's was (``immutable`` on a read-only
copy): Ed25519 verification is most of the cost, and it scales with cores. Workers are
started with ``spawn`` (no SQLite handle crosses a fork) and ignore SIGINT: on an
interrupt the caller ends them at once, rather than waiting for their tasks.
"""

from __future__ import annotations

import binascii
import multiprocessing
import os
import signal
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from nacl.signing import VerifyKey

from osiris.evidence.action import read_action, read_counted_pattern
from osiris.evidence.bundles_check import (
    RunRecords,
    StoredEnvelope,
    StoredResult,
    Trust,
    check_action_match,
    check_envelope_signature,
    check_payload_digest,
    check_results_match,
    check_statement,
)
from osiris.evidence.dsse import Envelope, EnvelopeError, Signature
from osiris.evidence.report import MAX_LISTED, Property, PropertyResult, VerifyReport
from osiris.evidence.results_match import read_payload
from osiris.evidence.rotation import KeyChain, KeyEpoch
from osiris.store.db import database_path
from osiris.store.readonly import reader_uri, text_from_bytes

PARALLEL_MIN = 20_000  # envelopes; below this one process is quicker than starting workers
# envelopes per task handed to a worker: at least, at most (small tasks at the end of a
# big log keep both workers busy to the end: a worker is ~1 s per 10,000 envelopes)
CHUNK = (2_000, 10_000)
PAGE = 512  # rows fetched from SQLite at a time
_RUNS_KEPT = 16
_BUNDLE_PROPERTIES = (
    Property.ENVELOPE_SIGNATURE,
    Property.KEY_VALIDITY,
    Property.PAYLOAD_DIGEST,
    Property.STATEMENT,
    Property.RESULTS_MATCH,
    Property.ACTIONS_MATCH,
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
    size = max(CHUNK[0], min(CHUNK[1], total // (jobs * 16)))
    ranges = [(lo, min(lo + size - 1, high)) for lo in range(low, high + 1, size)]
    spec = _trust_spec(trust)
    span = _FileSpan(path.stat().st_size, low, total)
    uri = reader_uri(path)
    pool = ProcessPoolExecutor(
        jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_sigint
    )
    try:
        futures = [
            pool.submit(_check_in_worker, uri, str(path), spec, since, r, span.of(r))
            for r in ranges
        ]
        try:
            yield
            parts = [f.result() for f in futures]
        except BrokenProcessPool:
            # workers could not start: a caller's script without the
            # `if __name__ == "__main__":` guard that `spawn` needs; check here instead
            parts = [check_range(db, trust, since, None)]
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown()
    _merge_parts(report, parts)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the workers now: an interrupted verify must not wait for their tasks."""
    # no public way before Python 3.14's terminate_workers()
    workers = list((getattr(pool, "_processes", None) or {}).values())
    for worker in workers:
        worker.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.join(timeout=1)


def _merge_parts(report: VerifyReport, parts: list[dict[Property, PropertyResult]]) -> None:
    for part in parts:
        for prop, found in part.items():
            _merge(report[prop], found)


def _merge(into: PropertyResult, part: PropertyResult) -> None:
    into.checked += part.checked
    into.failure_count += part.failure_count
    into.failures.extend(part.failures[: MAX_LISTED - len(into.failures)])


TrustSpec = tuple[str, dict[str, bytes], list[tuple[str, bytes, int, int | None, int]] | None]


def _trust_spec(trust: Trust) -> TrustSpec:
    """``trust`` as plain data for a worker process."""
    epochs = None
    if trust.chain is not None:
        epochs = [
            (e.keyid, bytes(e.key), e.first_leaf, e.end_leaf, e.sequence) for e in trust.chain
        ]
    return trust.site_id, {k: bytes(v) for k, v in trust.keys.items()}, epochs


def _trust_from(spec: TrustSpec) -> Trust:
    site_id, keys, epochs = spec
    chain = None
    if epochs is not None:
        chain = KeyChain(
            tuple(KeyEpoch(k, VerifyKey(v), first, end, seq) for k, v, first, end, seq in epochs)
        )
    return Trust(site_id, {k: VerifyKey(v) for k, v in keys.items()}, chain)


@dataclass(frozen=True)
class _FileSpan:
    """Where in the database file a range of envelopes roughly lies. Envelopes, their
    leaves and result rows are appended together, so envelope ids map onto the file
    about in proportion; a task's guess is widened by half its own size each way."""

    size: int
    low: int
    total: int

    def of(self, ids: IdRange) -> tuple[int, int]:
        """(offset, length) of the bytes the envelopes ``ids`` likely occupy."""
        per_envelope = self.size / self.total
        start, end = (ids[0] - self.low) * per_envelope, (ids[1] + 1 - self.low) * per_envelope
        margin = (end - start) / 2
        offset = max(0, int(start - margin))
        return offset, min(self.size, int(end + margin)) - offset


def _read_ahead(path: str, region: tuple[int, int]) -> None:
    """Have the kernel read a task's part of the file now, in large requests: a log that
    is not in the page cache would otherwise be read 4 KiB page by page, each read
    waited for. Only a hint (a wrong guess costs a read); none where there is none."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            advise(fd, region[0], region[1], os.POSIX_FADV_WILLNEED)
        finally:
            os.close(fd)
    except OSError:
        pass


def _check_in_worker(
    uri: str,
    path: str,
    spec: TrustSpec,
    since: str | None,
    ids: IdRange,
    region: tuple[int, int],
) -> dict[Property, PropertyResult]:
    _read_ahead(path, region)
    conn = sqlite3.connect(uri, uri=True, timeout=30.0)
    conn.text_factory = text_from_bytes
    try:
        return check_range(sqlite_utils.Database(conn), _trust_from(spec), since, ids)
    finally:
        conn.close()


def check_range(
    db: sqlite_utils.Database, trust: Trust, since: str | None, ids: IdRange | None
) -> dict[Property, PropertyResult]:
    """The per-bundle properties of the envelopes with ids in ``ids`` (all when None)."""
    found = {prop: PropertyResult(prop) for prop in _BUNDLE_PROPERTIES}
    signature, validity = found[Property.ENVELOPE_SIGNATURE], found[Property.KEY_VALIDITY]
    digest, statement = found[Property.PAYLOAD_DIGEST], found[Property.STATEMENT]
    results, actions = found[Property.RESULTS_MATCH], found[Property.ACTIONS_MATCH]
    for row, run in _stored(db, since, ids):
        env = _decode(row)
        if isinstance(env, str):
            signature.checked += 1
            signature.fail(f"envelope {row[0]} (run {row[1]}, host {row[2]})", env)
            continue
        check_envelope_signature(signature, validity, env, trust)
        check_payload_digest(digest, env)
        rendered = run.rendered.get(env.host) if env.kind == "scan" else None
        payload = check_statement(statement, env, trust, read_payload(env.payload, rendered))
        if payload is not None and env.kind == "heal":
            if env.action_id is None:
                action, counted = None, None
            else:
                action = read_action(db.conn, env.action_id)
                counted = read_counted_pattern(db.conn, env.action_id)
            check_action_match(actions, env, payload, action, counted)
        elif payload is not None:
            check_results_match(results, env, payload, run)
    return found


def _stored(
    db: sqlite_utils.Database, since: str | None, ids: IdRange | None
) -> Iterator[tuple[tuple[Any, ...], RunRecords]]:
    runs: OrderedDict[int, RunRecords] = OrderedDict()
    lo, hi = ids if ids else (None, None)
    # a literal range (no `:lo IS NULL OR ...`) lets SQLite seek to it: with the OR, each
    # worker would scan the whole table for its slice
    where = "e.id BETWEEN :lo AND :hi" if ids else "1"
    # and no join with runs unless it filters (a lookup per envelope)
    runs_join = " LEFT JOIN runs r ON r.id = e.run_id" if since is not None else ""
    if since is not None:
        where += " AND (r.started_at IS NULL OR r.started_at >= :since)"
    cursor = db.conn.execute(
        "SELECT e.id, e.run_id, e.host, e.kind, e.envelope, e.payload_sha256, l.leaf_hash,"
        " l.idx, e.action_id FROM envelopes e LEFT JOIN log_leaves l ON l.envelope_id = e.id"
        f"{runs_join} WHERE {where} ORDER BY e.id",
        {"lo": lo, "hi": hi, "since": since},
    )
    while page := cursor.fetchmany(PAGE):
        for row in page:
            run = runs.get(row[1])
            if run is None:
                run = runs[row[1]] = run_records(db.conn, row[1])
                if len(runs) > _RUNS_KEPT:
                    runs.popitem(last=False)
            yield row, run


# A result row as its signed entry should read (RFC 8785 key order, compact). From SQLite
# 3.42 json() also reads JSON5, so there facts must first pass json_valid (strict JSON);
# before, json() refuses anything but JSON and the run's rows are compared one by one.
_RENDERED = (
    "json_object('check', check_id, 'facts', json(facts), 'probe_digest', probe_digest,"
    " 'reason', reason, 'status', status)"
)
if sqlite3.sqlite_version_info >= (3, 42, 0):
    _RENDERED = f"CASE WHEN facts IS NULL OR json_valid(facts) THEN {_RENDERED} END"


def run_records(conn: sqlite3.Connection, run_id: int) -> RunRecords:
    """What the database holds about one run, for :func:`check_results_match`."""
    exists = conn.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone() is not None

    def rows(host: str) -> list[StoredResult]:
        return conn.execute(
            "SELECT check_id, status, reason, probe_digest, facts FROM results"
            " WHERE run_id = ? AND host = ? ORDER BY check_id",
            [run_id, host],
        ).fetchall()

    records = RunRecords(exists, rows=rows)
    for host, reached, error, digest in conn.execute(
        "SELECT host, reached, error, output_digest FROM host_runs WHERE run_id = ?", [run_id]
    ):
        records.host_runs[host] = (bool(reached), error, digest)
    try:
        records.rendered.update(
            (host, (count, joined))
            for host, count, joined in conn.execute(
                # the (run_id, host, check_id) index gives each host's rows in check order
                f"SELECT host, count(*), group_concat(coalesce({_RENDERED}, '!'), char(1))"
                " FROM results WHERE run_id = ? GROUP BY host",
                [run_id],
            )
        )
    except sqlite3.Error:
        records.rendered.clear()  # each host is then compared row by row
    return records


def _decode(row: tuple[Any, ...]) -> StoredEnvelope | str:
    env_id, run_id, host, kind, text, payload_sha256, leaf, index, action_id = row
    try:
        envelope = _canonical_envelope(text) or Envelope.from_json(text)
    except EnvelopeError as exc:
        return str(exc)
    leaf_hash = None if leaf is None else bytes(leaf)
    return StoredEnvelope(
        env_id, run_id, host, kind, payload_sha256, envelope, leaf_hash, index, action_id
    )


def _canonical_envelope(text: Any) -> Envelope | None:
    """The envelope, read without a JSON parser when it is written exactly as Osiris
    writes one (canonical, one signature; base64 and hex hold no quote or escape);
    None for anything else, which :meth:`Envelope.from_json` then reads."""
    if not isinstance(text, str) or not text.startswith('{"payload":"'):
        return None
    cuts = [12]
    for marker in _MARKERS:
        at = text.find(marker, cuts[-1])
        if at < 0:
            return None
        cuts += [at, at + len(marker)]
    if cuts[-1] != len(text):
        return None
    payload, payload_type, key_id, sig = (text[cuts[i] : cuts[i + 1]] for i in (0, 2, 4, 6))
    if (
        '"' in payload_type
        or "\\" in payload_type
        or '"' in key_id
        or "\\" in key_id
        or not payload_type.isprintable()
    ):
        return None
    try:
        decoded = binascii.a2b_base64(payload, strict_mode=True)
        signature = binascii.a2b_base64(sig, strict_mode=True)
    except binascii.Error:
        return None
    return Envelope(decoded, payload_type, (Signature(key_id, signature),))


_MARKERS = ('","payloadType":"', '","signatures":[{"keyid":"', '","sig":"', '"}]}')
