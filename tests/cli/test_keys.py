"""`osiris keys rotate` through the real CLI, and what `osiris verify` says about it.

A site scans, rotates its key, scans again. A thief's copy of the old private key
(taken before the rotation deleted it) is kept by the test, to forge with.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from osiris.evidence.dsse import pae
from tests.cli.test_scan_local import make_catalog
from tests.cli.test_verify import PROBES, details, envelope, osiris, rows, tamper, verify


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, SigningKey]:
    root = tmp_path_factory.mktemp("keys")
    catalog = make_catalog(root / "catalog", PROBES)
    home = root / "home"
    assert osiris(home, "init", "--site-id", "clinic-a").returncode == 0
    assert osiris(home, "scan", catalog=catalog).returncode == 1
    stolen = SigningKey(bytes.fromhex((home / "keys" / "site.key").read_text().strip()))
    result = osiris(home, "keys", "rotate", "--reason", "yearly rotation", "--json")
    assert result.returncode == 0, result.stderr
    assert osiris(home, "scan", catalog=catalog).returncode == 1
    return home, catalog, stolen


@pytest.fixture
def site(rotated: tuple[Path, Path, SigningKey], tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(rotated[0], home)
    return home


def test_a_rotated_site_verifies_whole_and_keeps_no_old_private_key(
    site: Path, rotated: tuple[Path, Path, SigningKey]
) -> None:
    stolen = rotated[2]
    code, report = verify(site)
    assert code == 0, report["failed"]
    old_id, new_id = report["keyids"]
    checked = {p["name"]: p["checked"] for p in report["properties"]}
    assert checked["rotation_chain"] == 1 and checked["key_validity"] == 2 + 2
    listed = json.loads(osiris(site, "keys", "list", "--json").stdout)
    assert [(k["keyid"], k["first_leaf"], k["end_leaf"]) for k in listed["keys"]] == [
        (old_id, 0, 1),
        (new_id, 1, None),
    ]
    assert listed["chain_ok"]
    keys = site / "keys"
    assert (keys / "genesis.pub").read_text().strip() == bytes(stolen.verify_key).hex()
    assert (keys / "retired" / f"{old_id}.pub").exists()
    secret = stolen.encode().hex()
    for path in site.rglob("*"):  # the old private key is nowhere in the site any more
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    row = rows(site, "SELECT seq, previous_keyid, keyid, log_size, reason FROM key_rotations")
    assert row == [(1, old_id, new_id, 1, "yearly rotation")]


def test_a_rotation_not_signed_by_its_predecessor_fails_verify(site: Path) -> None:
    (text,) = rows(site, "SELECT envelope FROM key_rotations")[0]
    document = json.loads(text)
    message = pae(document["payloadType"], base64.b64decode(document["payload"]))
    forged = SigningKey.generate().sign(message).signature  # not the old key's signature
    document["signatures"][0]["sig"] = base64.b64encode(forged).decode()
    tamper(site, "UPDATE key_rotations SET envelope = ?", params=(json.dumps(document),))
    code, report = verify(site)
    assert code == 1
    assert {"rotation_chain", "envelope_signature", "checkpoint_signature"} <= set(report["failed"])
    (detail,) = details(report, "rotation_chain")
    assert detail.startswith("rotation 1 (to key ") and "not signed by its predecessor" in detail


def test_an_envelope_signed_by_the_retired_key_after_the_rotation_fails_verify(
    site: Path, rotated: tuple[Path, Path, SigningKey]
) -> None:
    document = envelope(site, 2)  # run 2: after the rotation
    payload = base64.b64decode(document["payload"])
    signature = rotated[2].sign(pae(document["payloadType"], payload)).signature
    old_id = json.loads(osiris(site, "keys", "list", "--json").stdout)["keys"][0]["keyid"]
    document["signatures"] = [{"keyid": old_id, "sig": base64.b64encode(signature).decode()}]
    tamper(site, "UPDATE envelopes SET envelope = ? WHERE id = 2", params=(json.dumps(document),))
    code, report = verify(site)
    assert code == 1 and report["failed"] == ["key_validity"]
    (detail,) = details(report, "key_validity")
    assert detail.startswith("envelope 2 (run 2, host ")
    assert "retired by rotation 1" in detail and "may sign it" in detail
    human = osiris(site, "verify")
    assert "✗ key_validity" in human.stdout


def test_rotating_again_and_scanning_keeps_the_evidence_whole(
    site: Path, rotated: tuple[Path, Path, SigningKey]
) -> None:
    assert osiris(site, "keys", "rotate", "--reason", "second").returncode == 0
    assert osiris(site, "scan", catalog=rotated[1]).returncode == 1
    code, report = verify(site)
    assert code == 0 and len(report["keyids"]) == 3
    # a key file put back by hand does not fool verify: the chain starts at genesis.pub
    (site / "keys" / "site.pub").write_text(bytes(rotated[2].verify_key).hex() + "\n")
    code, report = verify(site)
    assert code == 0 and any("keys/site.pub" in note for note in report["notes"])
