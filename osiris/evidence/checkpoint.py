"""Signed checkpoints: C2SP tlog-checkpoint notes signed per C2SP signed-note (Ed25519).

A checkpoint note reads::

    osiris.evidence/clinic-a            <- origin
    1042                                <- tree size
    3q2+7w...=                          <- base64 RFC 6962 root hash
                                        <- blank line
    — osiris.evidence/clinic-a AbCd...  <- base64(key ID (4 bytes) || Ed25519 signature)

The signature covers the note text (the three lines, each ending in a newline). The key
ID is the first four bytes of SHA-256(key name || 0x0A || 0x01 || public key). A
checkpoint can be kept anywhere (exported to a file, pushed to central) and later prove
that the log only grew.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from osiris.errors import OsirisError
from osiris.evidence.merkle import HASH_SIZE

_ED25519 = b"\x01"
_DASH = "\u2014 "


class CheckpointError(OsirisError, ValueError):
    """A checkpoint note that is malformed, for another log, or not signed by the key."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        """The note text that is signed."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise CheckpointError("checkpoint text must be at least three non-empty lines")
        origin, size_text, root_text = lines[0], lines[1], lines[2]
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise CheckpointError(f"tree size {size_text!r} is not a decimal number")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error:
            raise CheckpointError("root hash is not base64") from None
        if len(root) != HASH_SIZE:
            raise CheckpointError(f"root hash is {len(root)} bytes, not {HASH_SIZE}")
        return cls(origin, int(size_text), root)


def note_key_id(name: str, public_key: VerifyKey) -> bytes:
    """The 4-byte C2SP signed-note key ID of an Ed25519 key."""
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + bytes(public_key)).digest()[:4]


def sign_note(text: str, name: str, key: SigningKey) -> str:
    """A signed note: ``text`` (ending in a newline), a blank line, one signature line."""
    if not text.endswith("\n"):
        raise CheckpointError("note text must end with a newline")
    signature = key.sign(text.encode()).signature
    encoded = base64.b64encode(note_key_id(name, key.verify_key) + signature).decode()
    return f"{text}\n{_DASH}{name} {encoded}\n"


def open_note(note: str, name: str, key: VerifyKey) -> str:
    """The text of a signed note whose signature by (``name``, ``key``) verifies.

    Signatures by other keys are ignored; a bad signature by this key, or none at all,
    raises :class:`CheckpointError`.
    """
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise CheckpointError("not a signed note (no blank line before signatures)")
    text += "\n"
    wanted = note_key_id(name, key)
    for line in signatures[:-1].split("\n"):
        if not line.startswith(_DASH):
            raise CheckpointError(f"malformed signature line {line[:40]!r}")
        line_name, _, encoded = line[len(_DASH) :].rpartition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise CheckpointError("signature is not base64") from None
        if line_name != name or blob[:4] != wanted:
            continue
        try:
            key.verify(text.encode(), blob[4:])
        except (BadSignatureError, ValueError):
            raise CheckpointError(f"signature by {name} does not verify") from None
        return text
    raise CheckpointError(f"no signature by {name} with this site's key")


def sign_checkpoint(checkpoint: Checkpoint, key: SigningKey) -> str:
    """The signed checkpoint note; the key name is the origin."""
    return sign_note(checkpoint.text(), checkpoint.origin, key)


def verify_checkpoint(note: str, origin: str, key: VerifyKey) -> Checkpoint:
    """The checkpoint in ``note`` if it is for ``origin`` and signed by ``key``."""
    checkpoint = Checkpoint.from_text(open_note(note, origin, key))
    if checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
