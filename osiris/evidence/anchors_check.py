"""The timestamps property: every OpenTimestamps proof of a checkpoint, replayed offline.

A proof must be readable, for the SHA-256 of its checkpoint's note (the proof is built
from that digest; one for any other digest does not lead from its checkpoint), and each
Bitcoin attestation's message must equal the merkle root of a block header the caller
supplies (``osiris verify --block-headers FILE``). Pending attestations are reported,
not failed: the calendar has not yet put them in a block (`osiris anchor --upgrade`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from osiris.evidence.anchor import StoredAnchor, note_digest
from osiris.evidence.log import StoredCheckpoint
from osiris.evidence.ots import (
    OtsError,
    TimestampFile,
    block_hash,
    block_time,
    merkle_root_of_header,
)
from osiris.evidence.report import PropertyResult


@dataclass(frozen=True)
class BlockHeader:
    """An 80-byte Bitcoin block header, with its height when the file gives it."""

    header: bytes
    height: int | None = None

    @property
    def merkle_root(self) -> bytes:
        return merkle_root_of_header(self.header)


def read_block_headers(data: bytes) -> list[BlockHeader]:
    """Block headers from a file: raw 80-byte headers back to back, or text with one
    header in hex per line, optionally preceded by its height (``840000 00e0ff...``);
    blank lines and ``#`` comments are skipped. ValueError says what is wrong."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.strip() and all(c.isprintable() or c in "\t\r\n" for c in text):
        headers = []
        for number, line in enumerate(text.splitlines(), 1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            height = int(fields[0]) if len(fields) == 2 and fields[0].isdigit() else None
            try:
                raw = bytes.fromhex(fields[-1])
            except ValueError:
                raise ValueError(f"line {number}: not a header in hex") from None
            if len(fields) > 2 or len(raw) != 80:
                raise ValueError(f"line {number}: a header is 80 bytes (160 hex digits)")
            headers.append(BlockHeader(raw, height))
        return headers
    if not data or len(data) % 80:
        raise ValueError("raw block headers come in 80-byte records")
    return [BlockHeader(data[i : i + 80]) for i in range(0, len(data), 80)]


def check_timestamps(
    result: PropertyResult,
    notes: list[str],
    anchors: Sequence[StoredAnchor],
    checkpoints: Mapping[int, StoredCheckpoint],
    headers: Sequence[BlockHeader] | None,
) -> None:
    """Replay every stored proof against its checkpoint (and the supplied headers);
    what is pending or anchored goes to ``notes`` for the newest proof of each."""
    if not anchors:
        result.skipped = "no checkpoint has been anchored (`osiris anchor`)"
        return
    newest = {a.checkpoint_id: a.id for a in anchors}
    for anchor in anchors:
        result.checked += 1
        subject = f"anchor {anchor.id} (checkpoint {anchor.checkpoint_id})"
        checkpoint = checkpoints.get(anchor.checkpoint_id)
        if checkpoint is None:
            result.fail(subject, "its checkpoint is not in the database")
            continue
        try:
            proof = TimestampFile.from_bytes(anchor.proof)
        except OtsError as exc:
            result.fail(subject, f"not a readable .ots proof: {exc}")
            continue
        wanted = note_digest(checkpoint.note)
        if proof.digest != wanted:
            result.fail(
                subject,
                f"the proof starts from digest {proof.digest.hex()[:16]}, not from the"
                f" checkpoint note's {wanted.hex()[:16]}: it does not lead from its checkpoint",
            )
            continue
        if anchor.digest != wanted.hex() or anchor.complete != proof.complete:
            result.fail(subject, "its digest or complete column disagrees with the proof")
        lines = _replay(result, subject, proof, headers)
        if newest[anchor.checkpoint_id] == anchor.id:
            notes.extend(f"checkpoint {anchor.checkpoint_id}: {line}" for line in lines)


def _replay(
    result: PropertyResult,
    subject: str,
    proof: TimestampFile,
    headers: Sequence[BlockHeader] | None,
) -> list[str]:
    """Check each attestation of one proof; returns what to tell about it."""
    lines = []
    for node, attestation in proof.timestamp.leaves():
        try:
            described = attestation.describe()
        except OtsError as exc:
            result.fail(subject, f"unreadable attestation: {exc}")
            continue
        if attestation.kind == "pending":
            lines.append(f"timestamp {described} (run `osiris anchor --upgrade` later)")
        elif attestation.kind != "bitcoin":
            lines.append(f"{described}: not checked")
        elif headers is None:
            lines.append(f"anchored in {described}: not checked (no --block-headers given)")
        else:
            match = _header_for(node.message, attestation.height, headers)
            if match is None:
                result.fail(
                    subject,
                    f"its proof leads to {node.message[::-1].hex()[:16]}… for {described},"
                    " but no supplied block header has that merkle root",
                )
                continue
            stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(block_time(match.header)))
            lines.append(
                f"anchored in {described} (hash {block_hash(match.header)[:16]}…, time {stamp})"
            )
    return lines


def _header_for(root: bytes, height: int, headers: Sequence[BlockHeader]) -> BlockHeader | None:
    for header in headers:
        if header.merkle_root == root and header.height in (None, height):
            return header
    return None
