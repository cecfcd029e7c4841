"""Key rotation: records certified by the old key, the chain verify follows, key files."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
import sqlite_utils
from nacl.signing import SigningKey

from osiris.errors import OsirisError
from osiris.evidence import log as evidence_log
from osiris.evidence.bundle import seal_scan
from osiris.evidence.clock import ClockInfo
from osiris.evidence.dsse import Envelope, Signature, pae
from osiris.evidence.keyfiles import KeyFiles, finish_rotation, genesis_key, rotate_key
from osiris.evidence.keys import SiteSigner, keyid, load_signing_key, load_verify_key
from osiris.evidence.log import LogError, append_bundles, current_root, write_checkpoint
from osiris.evidence.report import Property
from osiris.evidence.rotation import (
    ROTATION_PAYLOAD_TYPE,
    KeyChain,
    KeyEpoch,
    Rotation,
    RotationError,
    current_keyid,
    insert_rotation,
    sign_rotation,
)
from osiris.evidence.verify import Trust, verify_log
from osiris.site import init_site
from osiris.store.runs import RunStatus, finish_run, record_host, start_run, transaction
from tests.unit.test_evidence_log import outcome


class Site:
    def __init__(self, home: Path) -> None:
        made = init_site(home, "clinic-a")
        self.db: sqlite_utils.Database = made.database()
        self.files = KeyFiles(made.private_key_path.parent)

    def signer(self) -> SiteSigner:
        return SiteSigner("clinic-a", load_signing_key(self.files.private))

    def scan(self, hosts: int = 2, signer: SiteSigner | None = None) -> None:
        signer = signer or self.signer()
        run_id = start_run(self.db, engine="direct", inventory=(), host_count=hosts, check_count=3)
        for i in range(hosts):
            host = outcome(f"h{run_id}-{i}")
            bundle = seal_scan(
                signer, run_id, host, finished=datetime.now(UTC), clock=ClockInfo("system")
            )
            record_host(self.db, run_id, host, within=partial(append_bundles, self.db, [bundle]))
        finish_run(self.db, run_id, RunStatus.COMPLETE)
        write_checkpoint(self.db, signer, run_id)

    def verify(self) -> tuple[list[Property], list[str]]:
        genesis = genesis_key(self.files)
        report = verify_log(self.db, Trust("clinic-a", {keyid(genesis): genesis}))
        return report.failed, [f"{f.subject}: {f.detail}" for f in report.failures]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path / "home")


def test_a_rotation_is_certified_by_the_old_key_and_verify_follows_it(site: Site) -> None:
    site.scan()
    old = site.signer()
    rotation = rotate_key(site.db, site.files, "clinic-a", "yearly")
    new = site.signer()
    assert (rotation.sequence, rotation.log_size, rotation.reason) == (1, 2, "yearly")
    assert rotation.previous_keyid == old.keyid and rotation.keyid == new.keyid != old.keyid
    assert current_keyid(site.db) == new.keyid
    # the genesis key is pinned, the old public key kept, the old private key gone
    assert load_verify_key(site.files.genesis) == old.verify_key
    assert load_verify_key(site.files.retired(old.keyid)) == old.verify_key
    assert load_verify_key(site.files.public) == new.verify_key
    assert sorted(p.name for p in site.files.directory.iterdir()) == [
        "genesis.pub",
        "retired",
        "site.key",
        "site.pub",
    ]
    assert os.stat(site.files.private).st_mode & 0o777 == 0o600
    site.scan()
    rotate_key(site.db, site.files, "clinic-a", "suspected exposure")
    site.scan()
    genesis = genesis_key(site.files)
    report = verify_log(site.db, Trust("clinic-a", {keyid(genesis): genesis}))
    assert report.ok, report.failures
    assert len(report.keyids) == 3 and report.keyids[0] == old.keyid
    assert report[Property.ROTATION_CHAIN].checked == 2
    assert report[Property.KEY_VALIDITY].checked == 6 + 3  # envelopes + checkpoints


def test_a_process_still_holding_the_retired_key_cannot_append(site: Site) -> None:
    site.scan()
    old = site.signer()
    rotate_key(site.db, site.files, "clinic-a", "yearly")
    with pytest.raises(LogError, match="rotated"):
        site.scan(signer=old)
    with pytest.raises(LogError, match="rotated"):
        write_checkpoint(site.db, old)
    assert site.verify() == ([], [])


def test_rotation_waits_for_a_running_scan_and_needs_a_reason(site: Site) -> None:
    with pytest.raises(OsirisError, match="reason"):
        rotate_key(site.db, site.files, "clinic-a", "  ")
    site.db.execute(
        "INSERT INTO runs (started_at, status, engine, pid, node) VALUES (?, 'running',"
        " 'direct', 1, ?)",
        [datetime.now(UTC).isoformat(), socket.gethostname()],
    )  # pid 1 is alive
    with pytest.raises(OsirisError, match="a scan is running"):
        rotate_key(site.db, site.files, "clinic-a", "yearly")
    assert not site.files.pending.exists() and current_keyid(site.db) is None


def test_an_interrupted_rotation_is_finished_or_undone(site: Site) -> None:
    site.scan()
    old = site.signer()
    # crashed before the record was committed: the half-made key is destroyed
    SigningKey.generate()
    site.files.pending.write_text(SigningKey.generate().encode().hex() + "\n")
    site.files.pending.chmod(0o600)
    assert finish_rotation(site.db, site.files)
    assert not site.files.pending.exists() and site.signer().keyid == old.keyid
    # crashed after the commit, before the files were swapped: the swap is finished
    new = SigningKey.generate()
    size, root = current_root(site.db)
    rotation = Rotation("clinic-a", 1, old.keyid, bytes(new.verify_key), size, root, "t", "r")
    with transaction(site.db):
        insert_rotation(site.db, rotation, sign_rotation(rotation, old.signing_key, new))
    site.files.genesis.write_text(bytes(old.verify_key).hex() + "\n")
    site.files.pending.write_text(new.encode().hex() + "\n")
    site.files.pending.chmod(0o600)
    assert finish_rotation(site.db, site.files)
    assert site.signer().keyid == keyid(new.verify_key) == keyid(load_verify_key(site.files.public))
    assert site.files.retired(old.keyid).exists() and not site.files.leaving.exists()
    assert not finish_rotation(site.db, site.files)  # nothing left to do
    site.scan()
    assert site.verify() == ([], [])


def _forge(site: Site, signers: dict[str, SigningKey], rotation: Rotation) -> None:
    """Store a rotation record signed by the given keys (by keyid), as a forger can."""
    payload = rotation.payload()
    message = pae(ROTATION_PAYLOAD_TYPE, payload)
    sigs = tuple(Signature(k, key.sign(message).signature) for k, key in signers.items())
    with transaction(site.db):
        insert_rotation(site.db, rotation, Envelope(payload, ROTATION_PAYLOAD_TYPE, sigs))


def test_a_rotation_not_signed_by_its_predecessor_breaks_the_chain(site: Site) -> None:
    site.scan()
    current = site.signer()
    thief, stolen = SigningKey.generate(), SigningKey.generate()
    size, root = current_root(site.db)
    rotation = Rotation(
        "clinic-a", 1, current.keyid, bytes(thief.verify_key), size, root, "t", "takeover"
    )
    # it names the current key as predecessor, but that key never signed it
    _forge(site, {current.keyid: stolen, keyid(thief.verify_key): thief}, rotation)
    site.scan(signer=SiteSigner("clinic-a", thief))  # the thief's key passes the append guard
    failed, details = site.verify()
    assert Property.ROTATION_CHAIN in failed and Property.ENVELOPE_SIGNATURE in failed
    assert any("not signed by its predecessor" in d for d in details)
    assert any("not signed by a trusted key" in d for d in details)


def test_a_retired_key_signing_after_its_rotation_is_found(site: Site, monkeypatch) -> None:
    site.scan()
    old = site.signer()
    rotate_key(site.db, site.files, "clinic-a", "yearly")
    site.scan()
    # the old key, stolen before it was deleted, signs evidence placed after the rotation
    monkeypatch.setattr(evidence_log, "_check_signing_key", lambda db, keyids: None)
    site.scan(signer=old)
    failed, details = site.verify()
    assert failed == [Property.KEY_VALIDITY]
    assert any("retired by rotation 1" in d and "leaf 4 is signed by" in d for d in details)
    assert any(d.startswith("checkpoint 3 (6 leaves): signed by key") for d in details)


def test_a_rotation_beyond_the_log_or_off_its_root_is_found(site: Site) -> None:
    site.scan()
    current = site.signer()
    new = SigningKey.generate()
    size, root = current_root(site.db)
    for sequence, (at, at_root) in enumerate([(size, bytes(32)), (size + 5, root)], 1):
        if sequence == 2:
            current, new = SiteSigner("clinic-a", new), SigningKey.generate()
        rotation = Rotation(
            "clinic-a", sequence, current.keyid, bytes(new.verify_key), at, at_root, "t", "r"
        )
        _forge(site, {current.keyid: current.signing_key, keyid(new.verify_key): new}, rotation)
    failed, details = site.verify()
    assert Property.ROTATION_CHAIN in failed
    assert any("no longer hash to the root it signed" in d for d in details)
    assert any("truncated log" in d for d in details)


def test_rotation_records_refuse_what_they_cannot_hold() -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    rotation = Rotation(
        "s", 1, keyid(old.verify_key), bytes(new.verify_key), 0, bytes(32), "t", "r"
    )
    assert Rotation.from_payload(rotation.payload()) == rotation
    with pytest.raises(RotationError):
        sign_rotation(rotation, new, old)
    bad = rotation.payload().replace(b'"sequence":1', b'"sequence":"1"')
    with pytest.raises(RotationError, match="sequence"):
        Rotation.from_payload(bad)
    chain = KeyChain((KeyEpoch("a", old.verify_key, 0, 5), KeyEpoch("b", new.verify_key, 5)))
    assert [chain.for_leaf(i).keyid for i in (0, 4, 5, 99)] == ["a", "a", "b", "b"]
    assert chain.for_checkpoint("a", 5) and chain.for_checkpoint("b", 5)
    assert chain.for_checkpoint("a", 6) is None and chain.for_checkpoint("b", 4) is None
