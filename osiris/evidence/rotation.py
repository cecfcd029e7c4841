"""Key rotation records and the chain of site keys they form.

A site starts with one Ed25519 key (the *genesis* key, pinned wherever the site is
known: central, an auditor's notes). `osiris keys rotate` replaces it with a new key
and stores a rotation record: an in-toto-like JSON statement (RFC 8785) in a DSSE
envelope signed by the *old* key (it certifies its successor) and by the *new* key (it
proves the new private key exists). The record names the log position from which the
new key signs: leaves ``[log_size, ...)`` and checkpoints of at least ``log_size``
leaves are the new key's; the old key keeps leaves ``[start, log_size)``.

Payload (``payloadType`` :data:`ROTATION_PAYLOAD_TYPE`)::

    {"_type": "https://osiris.dev/key-rotation/v1", "site": "clinic-a", "sequence": 1,
     "previous_keyid": "<sha256 of the old public key>", "keyid": "<... of the new>",
     "public_key": "<new public key, hex>", "log_size": 1042, "log_root": "<hex>",
     "rotated_at": "2026-01-02T03:04:05.678+00:00", "reason": "yearly rotation"}

A verifier starts from the genesis key and follows the records in sequence
(:mod:`osiris.evidence.keys_check`), which gives a :class:`KeyChain`: for every leaf and
checkpoint, the one key that may have signed it.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from nacl.signing import SigningKey, VerifyKey

from osiris.errors import OsirisError
from osiris.evidence.dsse import Envelope, Signature, pae
from osiris.evidence.keys import keyid
from osiris.evidence.statement import canonical_json

ROTATION_PAYLOAD_TYPE = "application/vnd.osiris.key-rotation+json"
ROTATION_TYPE = "https://osiris.dev/key-rotation/v1"


class RotationError(OsirisError, ValueError):
    """A rotation record that cannot be read, or a rotation that cannot be made."""


@dataclass(frozen=True)
class Rotation:
    """What a rotation record says (its signed payload)."""

    site: str
    sequence: int
    previous_keyid: str
    public_key: bytes
    log_size: int
    log_root: bytes
    rotated_at: str
    reason: str

    @property
    def keyid(self) -> str:
        return keyid(VerifyKey(self.public_key))

    def document(self) -> dict[str, Any]:
        return {
            "_type": ROTATION_TYPE,
            "site": self.site,
            "sequence": self.sequence,
            "previous_keyid": self.previous_keyid,
            "keyid": self.keyid,
            "public_key": self.public_key.hex(),
            "log_size": self.log_size,
            "log_root": self.log_root.hex(),
            "rotated_at": self.rotated_at,
            "reason": self.reason,
        }

    def payload(self) -> bytes:
        """The signed bytes: the document in RFC 8785 form."""
        return canonical_json(self.document())

    @classmethod
    def from_payload(cls, payload: bytes) -> Rotation:
        """Parse a signed payload; :class:`RotationError` unless it is a well-formed
        rotation record whose ``keyid`` is the SHA-256 of its ``public_key``."""
        try:
            doc = json.loads(payload)
            rotation = cls(
                site=_typed(doc, "site", str),
                sequence=_typed(doc, "sequence", int),
                previous_keyid=_typed(doc, "previous_keyid", str),
                public_key=bytes.fromhex(_typed(doc, "public_key", str)),
                log_size=_typed(doc, "log_size", int),
                log_root=bytes.fromhex(_typed(doc, "log_root", str)),
                rotated_at=_typed(doc, "rotated_at", str),
                reason=_typed(doc, "reason", str),
            )
            if doc.get("_type") != ROTATION_TYPE:
                raise RotationError(f"_type is {doc.get('_type')!r}, not {ROTATION_TYPE!r}")
            if len(rotation.public_key) != 32 or len(rotation.log_root) != 32:
                raise RotationError("public_key and log_root must be 32 bytes")
            if doc.get("keyid") != rotation.keyid:
                raise RotationError("keyid is not the SHA-256 of public_key")
        except (ValueError, TypeError, AttributeError) as exc:
            if isinstance(exc, RotationError):
                raise
            raise RotationError(f"not a rotation record: {exc}") from None
        return rotation


def _typed(doc: Mapping[str, Any], name: str, kind: type) -> Any:
    value = doc[name]
    if type(value) is not kind:
        raise RotationError(f"{name} must be a {kind.__name__}")
    return value


def sign_rotation(rotation: Rotation, old: SigningKey, new: SigningKey) -> Envelope:
    """The rotation record as a DSSE envelope signed by the old key, then the new one."""
    if keyid(old.verify_key) != rotation.previous_keyid or bytes(new.verify_key) != (
        rotation.public_key
    ):
        raise RotationError("the keys do not match the rotation record")
    payload = rotation.payload()
    message = pae(ROTATION_PAYLOAD_TYPE, payload)
    signatures = tuple(
        Signature(keyid(key.verify_key), key.sign(message).signature) for key in (old, new)
    )
    return Envelope(payload, ROTATION_PAYLOAD_TYPE, signatures)


@dataclass(frozen=True)
class StoredRotation:
    """A ``key_rotations`` row: the columns are what the envelope claims, unverified."""

    seq: int
    previous_keyid: str
    keyid: str
    public_key: str
    log_size: int
    reason: str
    rotated_at: str
    envelope: str

    @property
    def label(self) -> str:
        return f"rotation {self.seq} (to key {self.keyid[:16]})"


def stored_rotations(db: sqlite_utils.Database) -> list[StoredRotation]:
    """Every rotation row, in sequence order, as stored (nothing verified here)."""
    rows = db.execute(
        "SELECT seq, previous_keyid, keyid, public_key, log_size, reason, rotated_at, envelope"
        " FROM key_rotations ORDER BY seq"
    ).fetchall()
    return [StoredRotation(*row) for row in rows]


def current_keyid(db: sqlite_utils.Database) -> str | None:
    """The keyid the latest rotation made current; None before any rotation (then the
    genesis key is current, and the database does not name it)."""
    row = db.execute("SELECT keyid FROM key_rotations ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def insert_rotation(db: sqlite_utils.Database, rotation: Rotation, envelope: Envelope) -> None:
    """Store a signed rotation; inside the caller's write transaction."""
    db.execute(
        "INSERT INTO key_rotations (seq, previous_keyid, keyid, public_key, log_size, reason,"
        " rotated_at, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            rotation.sequence,
            rotation.previous_keyid,
            rotation.keyid,
            rotation.public_key.hex(),
            rotation.log_size,
            rotation.reason,
            rotation.rotated_at,
            envelope.to_json(),
        ],
    )


@dataclass(frozen=True)
class KeyEpoch:
    """One key's span of the log: leaves ``[first_leaf, end_leaf)`` (``end_leaf`` None:
    the current key) and checkpoints of ``first_leaf`` to ``end_leaf`` leaves."""

    keyid: str
    key: VerifyKey
    first_leaf: int = 0
    end_leaf: int | None = None
    sequence: int = 0  # the rotation that made it current; 0 for the genesis key

    def signs_checkpoint(self, size: int) -> bool:
        return self.first_leaf <= size and (self.end_leaf is None or size <= self.end_leaf)

    def describe(self) -> str:
        if self.end_leaf is None:
            return f"key {self.keyid[:16]} (current since leaf {self.first_leaf})"
        return (
            f"key {self.keyid[:16]} (leaves {self.first_leaf} to {self.end_leaf - 1},"
            f" retired by rotation {self.sequence + 1})"
        )


@dataclass(frozen=True)
class KeyChain:
    """The site's keys in order, each with its epoch. One epoch with no rotation."""

    epochs: tuple[KeyEpoch, ...]

    def __post_init__(self) -> None:
        if not self.epochs:
            raise ValueError("a key chain has at least the genesis key")

    @classmethod
    def single(cls, key: VerifyKey) -> KeyChain:
        return cls((KeyEpoch(keyid(key), key),))

    @property
    def keys(self) -> dict[str, VerifyKey]:
        return {e.keyid: e.key for e in self.epochs}

    @property
    def current(self) -> KeyEpoch:
        return self.epochs[-1]

    def for_leaf(self, index: int) -> KeyEpoch:
        """The epoch whose key alone may sign leaf ``index``."""
        starts = [e.first_leaf for e in self.epochs]
        # the last epoch starting at or before index (later epochs win a tie: an
        # epoch that starts and ends at one position holds no leaf)
        return self.epochs[max(0, bisect.bisect_right(starts, index) - 1)]

    def for_checkpoint(self, keyid_: str, size: int) -> KeyEpoch | None:
        """The epoch of ``keyid_`` if that key may sign a checkpoint of ``size`` leaves."""
        for epoch in self.epochs:
            if epoch.keyid == keyid_ and epoch.signs_checkpoint(size):
                return epoch
        return None

    def __iter__(self) -> Iterator[KeyEpoch]:
        return iter(self.epochs)
