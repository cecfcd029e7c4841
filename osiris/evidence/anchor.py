"""Anchoring checkpoints with OpenTimestamps: the calendar protocol and stored proofs.

A checkpoint is anchored by timestamping its signed note (the file digest is the
SHA-256 of the note's bytes, so the stored proof is a standard .ots file for the note:
``ots verify`` accepts it too). As the standard client does, a random nonce is appended
and hashed first, so calendars learn nothing about the note. Calendars speak HTTP:

- ``POST <calendar>/digest`` with the 32-byte digest as the body returns a timestamp
  for it (usually ending in a pending attestation naming the calendar);
- ``GET <calendar>/timestamp/<hex commitment>`` returns the timestamp of a commitment
  once the calendar has one (a Bitcoin attestation), 404 while it is pending.

Proofs live in the ``anchors`` table (append-only): an upgrade appends a new row for
the same checkpoint, and the newest row per checkpoint is its proof. Only calendars the
caller names are ever contacted; a URL found in a proof is used only if it is one.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

import sqlite_utils

from osiris.errors import OsirisError
from osiris.evidence.log import StoredCheckpoint
from osiris.evidence.ots import APPEND, SHA256, Op, OtsError, Timestamp, TimestampFile
from osiris.store.runs import now_iso, transaction

ACCEPT = "application/vnd.opentimestamps.v1"
MAX_RESPONSE = 10_000
NONCE_SIZE = 16


class AnchorError(OsirisError, RuntimeError):
    """No calendar could timestamp a checkpoint."""


@dataclass(frozen=True)
class StoredAnchor:
    """An ``anchors`` row: the proof of one checkpoint's note, as stored."""

    id: int
    checkpoint_id: int
    digest: str
    proof: bytes
    complete: bool
    created_at: str


def note_digest(note: str) -> bytes:
    """What a checkpoint's proof timestamps: the SHA-256 of its note's bytes."""
    return hashlib.sha256(note.encode()).digest()


def normalise(url: str) -> str:
    """A calendar URL as compared and stored: no trailing slash."""
    return url.rstrip("/")


def submit(calendar: str, digest: bytes, timeout: float) -> Timestamp:
    """POST a digest to a calendar; the timestamp it returns for that digest."""
    body = _request(f"{normalise(calendar)}/digest", digest, timeout)
    if body is None:
        raise AnchorError(f"{calendar} does not know /digest")
    return Timestamp.from_bytes(body, digest)


def fetch(calendar: str, commitment: bytes, timeout: float) -> Timestamp | None:
    """GET the calendar's timestamp of a commitment; None while it is still pending."""
    body = _request(f"{normalise(calendar)}/timestamp/{commitment.hex()}", None, timeout)
    return None if body is None else Timestamp.from_bytes(body, commitment)


def _request(url: str, data: bytes | None, timeout: float) -> bytes | None:
    if not url.startswith(("http://", "https://")):
        raise AnchorError(f"{url}: calendars are reached over http(s) only")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=data, headers={"Accept": ACCEPT, "User-Agent": "osiris"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body: bytes = response.read(MAX_RESPONSE + 1)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise AnchorError(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise AnchorError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    if len(body) > MAX_RESPONSE:
        raise AnchorError(f"{url}: response larger than {MAX_RESPONSE} bytes")
    return body


@dataclass(frozen=True)
class StampOutcome:
    proof: TimestampFile
    calendars: list[str]  # those that answered
    errors: list[str]  # why the others did not


def stamp(note: str, calendars: Sequence[str], timeout: float) -> StampOutcome:
    """Timestamp a checkpoint note on every calendar that answers (at least one)."""
    root = Timestamp(note_digest(note))
    tip = root.then(Op(APPEND, os.urandom(NONCE_SIZE))).then(Op(SHA256))
    answered, errors = [], []
    for calendar in calendars:
        try:
            tip.merge(submit(calendar, tip.message, timeout))
            answered.append(normalise(calendar))
        except (AnchorError, OtsError) as exc:
            errors.append(f"{calendar}: {exc}")
    if not answered:
        raise AnchorError("no calendar timestamped the checkpoint: " + "; ".join(errors))
    return StampOutcome(TimestampFile(root), answered, errors)


def upgrade(
    proof: TimestampFile, calendars: Sequence[str], timeout: float
) -> tuple[bool, list[str]]:
    """Ask the calendars named by the proof's pending attestations (only those in
    ``calendars``) for the completed timestamps; returns (changed, notes)."""
    allowed = {normalise(c) for c in calendars}
    changed, notes = False, []
    pending = [(n, a) for n, a in proof.timestamp.leaves() if a.kind == "pending"]
    for node, attestation in pending:
        uri = normalise(attestation.uri)
        if uri not in allowed:
            notes.append(f"{uri} is not a configured calendar: not asked")
            continue
        try:
            found = fetch(uri, node.message, timeout)
        except (AnchorError, OtsError) as exc:
            notes.append(f"{uri}: {exc}")
            continue
        if found is None:
            notes.append(f"{uri}: still pending")
            continue
        before = node.to_bytes()
        node.merge(found)
        changed = changed or node.to_bytes() != before
    return changed, notes


def store_anchor(db: sqlite_utils.Database, checkpoint: StoredCheckpoint, proof: bytes) -> int:
    """Append a proof for a checkpoint; returns its row id."""
    complete = TimestampFile.from_bytes(proof).complete
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO anchors (checkpoint_id, digest, proof, complete, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [checkpoint.id, note_digest(checkpoint.note).hex(), proof, complete, now_iso()],
        )
    return int(cursor.lastrowid or 0)


def stored_anchors(db: sqlite_utils.Database, *, latest_only: bool = False) -> list[StoredAnchor]:
    """Anchor rows, oldest first; with ``latest_only``, the newest per checkpoint."""
    where = (
        " WHERE id IN (SELECT max(id) FROM anchors GROUP BY checkpoint_id)" if latest_only else ""
    )
    return [
        StoredAnchor(row[0], row[1], row[2], bytes(row[3]), bool(row[4]), row[5])
        for row in db.execute(
            "SELECT id, checkpoint_id, digest, proof, complete, created_at FROM anchors"
            + where
            + " ORDER BY id"
        )
    ]
