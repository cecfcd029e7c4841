"""The site's Ed25519 key pair (PyNaCl). The private key file is mode 0600."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from nacl.signing import SigningKey, VerifyKey

from osiris.errors import OsirisError


def keyid(verify_key: VerifyKey) -> str:
    """SHA-256 of the raw public key, hex: how envelopes name their signer."""
    return hashlib.sha256(bytes(verify_key)).hexdigest()


def generate_keypair(private_path: Path, public_path: Path) -> VerifyKey:
    """Create a new key pair. Refuses to overwrite an existing private key."""
    signing_key = SigningKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: never clobber a key; 0600 from the first byte, not chmod after
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(signing_key.encode().hex() + "\n")
    public_path.write_text(signing_key.verify_key.encode().hex() + "\n")
    return signing_key.verify_key


def load_signing_key(private_path: Path) -> SigningKey:
    mode = private_path.stat().st_mode & 0o777
    if mode & 0o077:
        raise OsirisError(
            f"{private_path}: private key is mode {mode:04o}; it must be 0600 (chmod 600 it)"
        )
    return SigningKey(bytes.fromhex(private_path.read_text().strip()))


def load_verify_key(public_path: Path) -> VerifyKey:
    return VerifyKey(bytes.fromhex(public_path.read_text().strip()))


@dataclass(frozen=True)
class SiteSigner:
    """The site's identity for evidence: its id and its signing key."""

    site_id: str
    signing_key: SigningKey = field(repr=False)

    @property
    def verify_key(self) -> VerifyKey:
        return self.signing_key.verify_key

    @property
    def keyid(self) -> str:
        return keyid(self.signing_key.verify_key)

    @property
    def origin(self) -> str:
        """The log's origin line and checkpoint key name (C2SP tlog-checkpoint)."""
        return log_origin(self.site_id)


def log_origin(site_id: str) -> str:
    """The origin of a site's evidence log: a schema-less URL naming site and log."""
    return f"osiris.evidence/{site_id}"


_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def public_key_pem(verify_key: VerifyKey) -> str:
    """The public key as PEM (SubjectPublicKeyInfo, RFC 8410), as openssl reads it."""
    der = base64.b64encode(_ED25519_SPKI_PREFIX + bytes(verify_key)).decode()
    return f"-----BEGIN PUBLIC KEY-----\n{der}\n-----END PUBLIC KEY-----\n"
