"""DSSE envelopes (Dead Simple Signing Envelope, v1) signed with Ed25519.

The signature covers PAE(payloadType, payload) =
``"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload`` (lengths in ASCII decimal),
never the JSON around it, so an envelope's bytes need no canonical form to verify. The
envelope JSON Osiris writes is canonical anyway (RFC 8785): sorted keys, no spaces.

Once :func:`sign_envelope` returns, nothing changes the payload (contract 6); verifying
reads it and never writes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from osiris.errors import OsirisError
from osiris.evidence.keys import keyid

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


class EnvelopeError(OsirisError, ValueError):
    """An envelope that cannot be read (bad JSON, bad base64, missing fields)."""


class SignatureError(OsirisError, ValueError):
    """An envelope with no valid signature from a trusted key."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding: the exact bytes that are signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload: bytes
    payload_type: str
    signatures: tuple[Signature, ...]

    def to_json(self) -> str:
        """Canonical JSON. Every value is ASCII (base64, hex, the type), so sorted keys
        and compact separators are exactly RFC 8785 here."""
        document = {
            "payload": base64.b64encode(self.payload).decode(),
            "payloadType": self.payload_type,
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode()} for s in self.signatures
            ],
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        """Parse an envelope; :class:`EnvelopeError` if it is not one."""
        try:
            document = json.loads(text)
            signatures = tuple(
                Signature(str(s.get("keyid", "")), base64.b64decode(s["sig"], validate=True))
                for s in document["signatures"]
            )
            return cls(
                payload=base64.b64decode(document["payload"], validate=True),
                payload_type=str(document["payloadType"]),
                signatures=signatures,
            )
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise EnvelopeError(f"not a DSSE envelope: {exc}") from None


def sign_envelope(payload: bytes, payload_type: str, key: SigningKey) -> Envelope:
    """Sign ``payload`` (already scrubbed and canonical) with the site key."""
    sig = key.sign(pae(payload_type, payload)).signature
    return Envelope(payload, payload_type, (Signature(keyid(key.verify_key), sig),))


def verify_envelope(
    envelope: Envelope, trusted: Mapping[str, VerifyKey], prefer: str | None = None
) -> str:
    """The keyid of a trusted key whose signature over the envelope verifies.

    ``trusted`` maps keyid to public key. Signatures naming unknown keys are ignored; a
    signature by ``prefer`` (when there is one) is tried first. :class:`SignatureError`
    when a trusted key's signature does not verify, or none is there.
    """
    message = pae(envelope.payload_type, envelope.payload)
    signatures = envelope.signatures
    if prefer is not None and len(signatures) > 1:
        signatures = tuple(sorted(signatures, key=lambda s: s.keyid != prefer))
    for signature in signatures:
        key = trusted.get(signature.keyid)
        if key is None:
            continue
        try:
            key.verify(message, signature.sig)
        except (BadSignatureError, ValueError):
            raise SignatureError(
                f"signature by key {signature.keyid[:16]} does not verify"
            ) from None
        return signature.keyid
    named = ", ".join(s.keyid[:16] for s in envelope.signatures) or "nobody"
    raise SignatureError(f"not signed by a trusted key (signed by {named})")
