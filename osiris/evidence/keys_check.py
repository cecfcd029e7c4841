"""The rotation chain: from the genesis key, through every rotation record, to the key
chain that says which key may sign each leaf and checkpoint.

:func:`check_rotation_chain` needs only the records and the genesis key(s), so it runs
before the per-bundle checks (they need the chain); :func:`check_rotation_roots` ties
each rotation to the log once the tree is built. Failures are on
:attr:`~osiris.evidence.report.Property.ROTATION_CHAIN`; a chain broken at a record
stops there (later keys are not trusted, so what they signed fails its own checks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from osiris.evidence.dsse import Envelope, EnvelopeError, pae
from osiris.evidence.merkle import MemoryTree
from osiris.evidence.report import PropertyResult
from osiris.evidence.rotation import (
    ROTATION_PAYLOAD_TYPE,
    KeyChain,
    KeyEpoch,
    Rotation,
    RotationError,
    StoredRotation,
)


def check_rotation_chain(
    result: PropertyResult,
    rows: Sequence[StoredRotation],
    genesis: Mapping[str, VerifyKey],
    site_id: str,
) -> tuple[KeyChain | None, list[Rotation]]:
    """Follow the rotation records from a genesis key; returns the key chain (None
    when there is no rotation: then every ``genesis`` key is valid everywhere) and the
    rotations that were accepted, in order.

    Each record must be the next in sequence, for this site, signed by the key it
    retires (the current one, never an earlier key) and by the key it introduces, with
    its columns equal to what it signs, and must not move back in the log.
    """
    if not rows:
        return None, []
    first = rows[0]
    if first.previous_keyid not in genesis:
        result.checked += 1
        result.fail(first.label, f"retires key {first.previous_keyid[:16]}, not the genesis key")
        return None, []
    epochs = [KeyEpoch(first.previous_keyid, genesis[first.previous_keyid])]
    accepted: list[Rotation] = []
    for row in rows:
        result.checked += 1
        problem = _check_one(row, epochs, site_id, len(accepted) + 1)
        if isinstance(problem, str):
            result.fail(row.label, problem + "; later keys are not trusted")
            break
        rotation = problem
        last = epochs[-1]
        epochs[-1] = KeyEpoch(
            last.keyid, last.key, last.first_leaf, rotation.log_size, last.sequence
        )
        epochs.append(
            KeyEpoch(
                rotation.keyid,
                VerifyKey(rotation.public_key),
                rotation.log_size,
                None,
                rotation.sequence,
            )
        )
        accepted.append(rotation)
    return KeyChain(tuple(epochs)), accepted


def _check_one(
    row: StoredRotation, epochs: list[KeyEpoch], site_id: str, sequence: int
) -> Rotation | str:
    """The rotation a record makes, or why it is not accepted."""
    try:
        envelope = Envelope.from_json(row.envelope)
        if envelope.payload_type != ROTATION_PAYLOAD_TYPE:
            return f"payload type is {envelope.payload_type!r}"
        rotation = Rotation.from_payload(envelope.payload)
    except (EnvelopeError, RotationError) as exc:
        return str(exc)
    current = epochs[-1]
    wrong = [
        f"{name} is {got!r}, not {want!r}"
        for name, got, want in (
            ("site", rotation.site, site_id),
            ("sequence", rotation.sequence, sequence),
            ("row seq", row.seq, sequence),
        )
        if got != want
    ]
    if wrong:
        return "; ".join(wrong)
    if rotation.previous_keyid != current.keyid:
        retired = any(e.keyid == rotation.previous_keyid for e in epochs[:-1])
        what = "a key already retired" if retired else "a key not in the chain"
        return (
            f"retires key {rotation.previous_keyid[:16]} ({what}), but the current key is"
            f" {current.keyid[:16]}"
        )
    if any(e.keyid == rotation.keyid for e in epochs):
        return f"brings back key {rotation.keyid[:16]}, already used in the chain"
    columns = (
        row.previous_keyid,
        row.keyid,
        row.public_key,
        row.log_size,
        row.reason,
        row.rotated_at,
    )
    signed = (
        rotation.previous_keyid,
        rotation.keyid,
        rotation.public_key.hex(),
        rotation.log_size,
        rotation.reason,
        rotation.rotated_at,
    )
    if columns != signed:
        return "its columns disagree with its signed record"
    if rotation.log_size < current.first_leaf:
        return (
            f"starts the new key at leaf {rotation.log_size}, before the retiring key's first"
            f" leaf {current.first_leaf}"
        )
    message = pae(envelope.payload_type, envelope.payload)
    if not _signed_by(envelope, message, current.keyid, current.key):
        return f"not signed by its predecessor, key {current.keyid[:16]}"
    if not _signed_by(envelope, message, rotation.keyid, VerifyKey(rotation.public_key)):
        return f"not signed by the new key {rotation.keyid[:16]} (no proof it holds the key)"
    return rotation


def _signed_by(envelope: Envelope, message: bytes, key_id: str, key: VerifyKey) -> bool:
    for signature in envelope.signatures:
        if signature.keyid != key_id:
            continue
        try:
            key.verify(message, signature.sig)
        except (BadSignatureError, ValueError):
            return False
        return True
    return False


def check_rotation_roots(
    result: PropertyResult, rotations: Sequence[Rotation], tree: MemoryTree
) -> None:
    """Every accepted rotation names the log as it is: the log has at least its
    ``log_size`` leaves and their root is its ``log_root``."""
    for rotation in rotations:
        subject = f"rotation {rotation.sequence} (to key {rotation.keyid[:16]})"
        if rotation.log_size > tree.size:
            result.fail(
                subject,
                f"made at {rotation.log_size} leaves, but the log has only {tree.size}:"
                " leaves were removed (truncated log)",
            )
        elif tree.root(rotation.log_size) != rotation.log_root:
            result.fail(
                subject,
                f"the log's first {rotation.log_size} leaves no longer hash to the root it signed",
            )
