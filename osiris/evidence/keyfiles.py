"""The site's key files, and rotating the signing key on disk and in the database.

Layout of ``keys/``::

    site.key              the current Ed25519 private key, mode 0600
    site.pub              its public key (hex)
    genesis.pub           the site's first public key: where verification starts
                          (written at the first rotation; before it, site.pub is it)
    retired/<keyid>.pub   every retired public key (hex), kept for verification

A retired private key is **deleted**: overwritten with zeros, synced, then unlinked.
Nothing legitimate needs it after its successor is certified (verification uses public
keys; the rotation record is already signed), while a kept copy is exactly what a
rotation is meant to take away: whoever finds it could sign a rival rotation or
checkpoints of a forged log. (Zeroing is best effort: journalling and copy-on-write
file systems, and SSDs, may still hold old blocks.)

A rotation is crash-safe: the new key is written beside the old one
(``site.key.next``), the record committed, then the files swapped. An interrupted
rotation is completed (or, if its record was never committed, undone) by the next
:func:`rotate_key` or :func:`finish_rotation`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from nacl.signing import SigningKey, VerifyKey

from osiris.errors import OsirisError
from osiris.evidence.keys import keyid, load_signing_key, load_verify_key
from osiris.evidence.log import current_root
from osiris.evidence.rotation import (
    Rotation,
    current_keyid,
    insert_rotation,
    sign_rotation,
)
from osiris.store.runs import now_iso, reconcile_abandoned_runs, transaction


@dataclass(frozen=True)
class KeyFiles:
    """Where a site's key files are (``keys/`` of the site home)."""

    directory: Path

    @property
    def private(self) -> Path:
        return self.directory / "site.key"

    @property
    def public(self) -> Path:
        return self.directory / "site.pub"

    @property
    def genesis(self) -> Path:
        return self.directory / "genesis.pub"

    @property
    def pending(self) -> Path:
        return self.directory / "site.key.next"

    @property
    def leaving(self) -> Path:
        return self.directory / "site.key.retired"

    def retired(self, key_id: str) -> Path:
        return self.directory / "retired" / f"{key_id}.pub"


def genesis_key(files: KeyFiles) -> VerifyKey:
    """The key verification starts from: genesis.pub once the site has rotated, else
    site.pub (which then is the genesis key)."""
    return load_verify_key(files.genesis if files.genesis.exists() else files.public)


def rotate_key(db: sqlite_utils.Database, files: KeyFiles, site_id: str, reason: str) -> Rotation:
    """Replace the site's signing key; returns the signed rotation record.

    Refused while a scan is running (its bundles are signed with the old key, and the
    log would refuse them after the rotation). The record is stored in the same write
    transaction that reads the log's size and root, so no leaf can slip in between.
    """
    finish_rotation(db, files)
    if not reason.strip():
        raise OsirisError("a rotation needs a reason (--reason)")
    old = load_signing_key(files.private)
    old_id = keyid(old.verify_key)
    tip = current_keyid(db)
    if tip is not None and tip != old_id:
        raise OsirisError(
            f"{files.private} (key {old_id[:16]}) is not the current key of the rotation"
            f" chain ({tip[:16]}); restore it before rotating"
        )
    if tip is None and not files.genesis.exists():
        _write_public(files.genesis, old.verify_key)
    elif not files.genesis.exists():
        raise OsirisError(f"{files.genesis} is missing: verification could not start")
    reconcile_abandoned_runs(db)
    running = [r for (r,) in db.execute("SELECT id FROM runs WHERE status = 'running'")]
    if running:
        raise OsirisError(
            f"a scan is running (run {running[0]}); rotate the key when it has finished"
        )
    new = SigningKey.generate()
    _write_private(files.pending, new)
    try:
        with transaction(db):
            sequence = int(
                db.execute("SELECT coalesce(max(seq), 0) + 1 FROM key_rotations").fetchone()[0]
            )
            size, root = current_root(db)
            rotation = Rotation(
                site=site_id,
                sequence=sequence,
                previous_keyid=old_id,
                public_key=bytes(new.verify_key),
                log_size=size,
                log_root=root,
                rotated_at=now_iso(),
                reason=reason.strip(),
            )
            insert_rotation(db, rotation, sign_rotation(rotation, old, new))
    except BaseException:
        _destroy(files.pending)
        raise
    finish_rotation(db, files)
    return rotation


def finish_rotation(db: sqlite_utils.Database, files: KeyFiles) -> bool:
    """Bring the key files in line with the database after an interrupted rotation.
    Returns whether anything was left to do."""
    did = False
    tip = current_keyid(db)
    if files.pending.exists():
        did = True
        pending = load_signing_key(files.pending)
        if keyid(pending.verify_key) != tip:  # its record was never committed
            _destroy(files.pending)
        else:
            if files.private.exists():
                _retire_public(files, load_signing_key(files.private).verify_key)
                os.replace(files.private, files.leaving)
            os.replace(files.pending, files.private)
    if files.leaving.exists():
        did = True
        _retire_public(files, load_signing_key(files.leaving).verify_key)
        _destroy(files.leaving)
    if files.private.exists():
        current = load_signing_key(files.private).verify_key
        if not files.public.exists() or load_verify_key(files.public) != current:
            did = True
            _write_public(files.public, current)
    return did


def _retire_public(files: KeyFiles, key: VerifyKey) -> None:
    path = files.retired(keyid(key))
    if not path.exists():
        path.parent.mkdir(mode=0o700, exist_ok=True)
        _write_public(path, key)


def _write_public(path: Path, key: VerifyKey) -> None:
    """Write a public key (hex) atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(bytes(key).hex() + "\n")
    os.replace(tmp, path)


def _write_private(path: Path, key: SigningKey) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.encode().hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _destroy(path: Path) -> None:
    """Overwrite a private key file with zeros, sync it, and unlink it."""
    try:
        size = path.stat().st_size
        with path.open("r+b") as handle:
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
    except FileNotFoundError:
        pass
