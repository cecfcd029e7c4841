"""Checkpoint properties: signatures (by the key valid at their size), roots, and
consistency with a checkpoint kept elsewhere.

A checkpoint of ``n`` leaves may be signed by the key whose epoch holds position
``n`` (see :class:`~osiris.evidence.rotation.KeyChain`): a retired key cannot sign a
checkpoint that covers leaves added after its rotation, and a new key cannot sign
one from before it.
"""

from __future__ import annotations

from collections.abc import Sequence

from osiris.evidence.bundles_check import Trust
from osiris.evidence.checkpoint import Checkpoint, CheckpointError, verify_checkpoint
from osiris.evidence.keys import log_origin
from osiris.evidence.log import StoredCheckpoint
from osiris.evidence.merkle import MemoryTree, ProofError, consistency_proof, verify_consistency
from osiris.evidence.report import PropertyResult


def open_checkpoint(note: str, trust: Trust) -> tuple[Checkpoint, str]:
    """The checkpoint a note signs for this site's log, and the keyid that signed it;
    :class:`CheckpointError` when no trusted key's signature verifies."""
    origin = log_origin(trust.site_id)
    error: CheckpointError | None = None
    for key_id, key in trust.keys.items():
        try:
            return verify_checkpoint(note, origin, key), key_id
        except CheckpointError as exc:
            error = exc
    raise error or CheckpointError("no site key to verify with")


def check_checkpoint_key(
    result: PropertyResult, subject: str, checkpoint: Checkpoint, signer: str, trust: Trust
) -> None:
    """The key that signed a checkpoint was the site's key at the checkpoint's size."""
    if trust.chain is None:
        return
    result.checked += 1
    if trust.chain.for_checkpoint(signer, checkpoint.size) is None:
        epoch = next((e for e in trust.chain if e.keyid == signer), None)
        what = epoch.describe() if epoch else f"key {signer[:16]}"
        result.fail(subject, f"signed by {what}, which may not sign a checkpoint of this size")


def check_checkpoint_signatures(
    result: PropertyResult,
    validity: PropertyResult,
    rows: Sequence[StoredCheckpoint],
    trust: Trust,
) -> list[tuple[StoredCheckpoint, Checkpoint]]:
    """Each stored checkpoint note is for this log and signed by a site key (the key
    valid at its size: failures on ``validity``); returns those signed by a site key,
    with what they sign."""
    good = []
    for row in rows:
        result.checked += 1
        try:
            checkpoint, signer = open_checkpoint(row.note, trust)
        except CheckpointError as exc:
            result.fail(f"checkpoint {row.id}", str(exc))
            continue
        check_checkpoint_key(
            validity, f"checkpoint {row.id} ({checkpoint.size} leaves)", checkpoint, signer, trust
        )
        good.append((row, checkpoint))
    return good


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
    validity: PropertyResult,
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
        kept, signer = open_checkpoint(note, trust)
    except CheckpointError as exc:
        result.fail("checkpoint file", f"{exc} (was the site key replaced?)")
        return
    subject = f"checkpoint file ({kept.size} leaves)"
    check_checkpoint_key(validity, subject, kept, signer, trust)
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
