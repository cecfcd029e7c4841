"""`osiris verify` on evidence from real local scans, tampered with directly in SQLite.

A site is built once (three `osiris scan` runs of this machine through the real CLI);
each test works on a copy, changes the database (or keys) the way an attacker or a bug
would, and asserts that verify fails (exit 1) naming the property that broke.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey, VerifyKey

from osiris.evidence.merkle import leaf_hash
from tests.cli.test_scan_local import make_catalog

PHI = ("jdoe@clinic.example", "123-45-6789")
PROBES = {
    "lnx_a": 'echo \'{"state": "good"}\'',
    "lnx_b": f'echo \'{{"state": "bad", "contact": "{PHI[0]}", "note": "SSN {PHI[1]}"}}\'',
}
EVIDENCE_TRIGGERS = [
    f"{table}_no_{verb}"
    for table in (
        "envelopes",
        "log_leaves",
        "log_nodes",
        "artifacts",
        "checkpoints",
        "key_rotations",
        "anchors",
    )
    for verb in ("update", "delete")
]


def osiris(home: Path, *args: str, catalog: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OSIRIS_HOME": str(home)}
    if catalog is not None:
        env["OSIRIS_CATALOG"] = str(catalog)
    return subprocess.run(
        [sys.executable, "-m", "osiris", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=home.parent,
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A site after three scans, and the catalog they used."""
    root = tmp_path_factory.mktemp("verify")
    catalog = make_catalog(root / "catalog", PROBES)
    home = root / "home"
    assert osiris(home, "init", "--site-id", "clinic-a").returncode == 0
    for _ in range(3):
        result = osiris(home, "scan", catalog=catalog)
        assert result.returncode == 1, result.stderr  # lnx_b fails on purpose
    return home, catalog


@pytest.fixture
def site(pristine: tuple[Path, Path], tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(pristine[0], home)
    return home


def verify(home: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = osiris(home, "verify", "--json", *args)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def failed(home: Path, *args: str) -> list[str]:
    code, report = verify(home, *args)
    assert code == (1 if report["failed"] else 0)
    return report["failed"]


def details(report: dict[str, Any], name: str) -> list[str]:
    (prop,) = [p for p in report["properties"] if p["name"] == name]
    return [f"{f['subject']}: {f['detail']}" for f in prop["failures"]]


def tamper(home: Path, *statements: str, params: tuple[Any, ...] = ()) -> None:
    """What someone with write access to the database file can do (triggers and all)."""
    conn = sqlite3.connect(home / "osiris.db")
    conn.execute("PRAGMA ignore_check_constraints = ON")
    with conn:
        for trigger in EVIDENCE_TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for statement in statements:
            conn.execute(statement, params if "?" in statement else ())
    conn.close()


def rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(home / "osiris.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def envelope(home: Path, env_id: int) -> dict[str, Any]:
    conn = sqlite3.connect(home / "osiris.db")
    try:
        text = conn.execute("SELECT envelope FROM envelopes WHERE id = ?", [env_id]).fetchone()[0]
    finally:
        conn.close()
    return json.loads(text)


def test_untouched_evidence_verifies_whole(site: Path, tmp_path: Path) -> None:
    code, report = verify(site)
    assert code == 0 and report["ok"] and report["failed"] == []
    assert report["log"]["size"] == 3 and report["checkpoint_size"] == 3
    checked = {p["name"]: p["checked"] for p in report["properties"]}
    assert checked["envelope_signature"] == checked["results_match"] == 3
    assert checked["checkpoint_signature"] == 3  # one per run
    human = osiris(site, "verify")
    assert human.returncode == 0 and "verify: the evidence is whole" in human.stdout
    kept = tmp_path / "kept.checkpoint"
    assert osiris(site, "checkpoint", "export", str(kept)).returncode == 0
    assert kept.read_text().startswith("osiris.evidence/clinic-a\n3\n")
    assert failed(site, "--checkpoint", str(kept), "--jobs", "1") == []


def test_scrubbed_phi_never_reaches_the_signed_payload(site: Path) -> None:
    # the result rows keep the facts as the host reported them ...
    assert any(PHI[0] in (facts or "") for (facts,) in rows(site, "SELECT facts FROM results"))
    # ... the evidence never does, neither encoded nor decoded
    for (text,) in rows(site, "SELECT envelope FROM envelopes"):
        payload = base64.b64decode(json.loads(text)["payload"]).decode()
        for secret in PHI:
            assert secret not in payload and secret not in text
        assert "[email]" in payload and "SSN [ssn]" in payload
    with sqlite3.connect(site / "osiris.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = (site / "osiris.db").read_bytes()
    for secret in PHI:  # only in the results table, once per scan
        assert raw.count(secret.encode()) == 3


def test_envelopes_verify_with_bare_pynacl_and_an_independent_pae(site: Path) -> None:
    public = VerifyKey(bytes.fromhex((site / "keys" / "site.pub").read_text().strip()))
    for env_id in (1, 2, 3):
        document = envelope(site, env_id)
        payload = base64.b64decode(document["payload"])
        kind = document["payloadType"].encode()
        assert kind == b"application/vnd.in-toto+json"
        message = b"DSSEv1 " + str(len(kind)).encode() + b" " + kind + b" "
        message += str(len(payload)).encode() + b" " + payload
        (signature,) = document["signatures"]
        public.verify(message, base64.b64decode(signature["sig"]))
        statement = json.loads(payload)
        assert statement["_type"] == "https://in-toto.io/Statement/v1"
        assert statement["predicate"]["run"] == env_id


def test_an_edited_result_row_is_found(site: Path) -> None:
    tamper(site, "UPDATE results SET status = 'pass', reason = 'fine' WHERE run_id = 2"
                 " AND check_id = 'lnx_b'")  # fmt: skip
    code, report = verify(site)
    assert code == 1 and report["failed"] == ["results_match"]
    (detail,) = details(report, "results_match")
    assert detail.startswith("envelope 2 (run 2, host ") and "changed: lnx_b" in detail


def test_an_edited_payload_is_found(site: Path) -> None:
    document = envelope(site, 2)
    payload = base64.b64decode(document["payload"]).replace(b'"status":"fail"', b'"status":"pass"')
    document["payload"] = base64.b64encode(payload).decode()
    tamper(site, "UPDATE envelopes SET envelope = ? WHERE id = 2", params=(json.dumps(document),))
    code, report = verify(site)
    assert code == 1
    assert {"envelope_signature", "payload_digest", "results_match"} <= set(report["failed"])
    assert details(report, "envelope_signature")[0].startswith("envelope 2 ")
    assert any("hash to its leaf" in d for d in details(report, "payload_digest"))


def test_a_forged_signature_is_found(site: Path) -> None:
    document = envelope(site, 3)
    sig = bytearray(base64.b64decode(document["signatures"][0]["sig"]))
    sig[10] ^= 0x01
    document["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    tamper(site, "UPDATE envelopes SET envelope = ? WHERE id = 3", params=(json.dumps(document),))
    code, report = verify(site)
    assert code == 1 and report["failed"] == ["envelope_signature"]
    assert "does not verify" in details(report, "envelope_signature")[0]


def test_a_deleted_envelope_is_found(site: Path) -> None:
    tamper(site, "DELETE FROM envelopes WHERE id = 2")
    code, report = verify(site)
    assert code == 1 and "completeness" in report["failed"]
    found = details(report, "completeness")
    assert any(d.startswith("run 2, host ") and "no signed bundle" in d for d in found)
    assert any(d.startswith("leaf 1: names envelope 2, which is missing") for d in found)


def test_reordered_leaves_are_found(site: Path) -> None:
    tamper(
        site,
        "UPDATE log_leaves SET idx = -1 WHERE idx = 0",
        "UPDATE log_leaves SET idx = 0 WHERE idx = 1",
        "UPDATE log_leaves SET idx = 1 WHERE idx = -1",
    )
    code, report = verify(site)
    assert code == 1
    assert {"log_order", "tree_nodes", "checkpoint_root"} <= set(report["failed"])
    assert "leaves were reordered" in details(report, "log_order")[0]


def test_an_inserted_forged_bundle_is_found(site: Path) -> None:
    # a copy of run 3's bundle that says lnx_b passed, with the old signature, appended
    # as a well-formed leaf (the forger can hash; only the site key can sign)
    document = envelope(site, 3)
    payload = base64.b64decode(document["payload"]).replace(b'"status":"fail"', b'"status":"pass"')
    document["payload"] = base64.b64encode(payload).decode()
    tamper(
        site,
        "INSERT INTO envelopes (id, run_id, host, kind, envelope, payload_sha256, keyid,"
        " created_at) SELECT 4, run_id, host, kind, ?, ?, keyid, created_at FROM envelopes"
        " WHERE id = 3",
        params=(json.dumps(document), hashlib.sha256(payload).hexdigest()),
    )
    tamper(site, "INSERT INTO log_leaves VALUES (3, ?, 4)", params=(leaf_hash(payload),))
    code, report = verify(site)
    assert code == 1
    assert {"envelope_signature", "completeness"} <= set(report["failed"])
    assert any("2 scan bundles, not one" in d for d in details(report, "completeness"))


def test_a_truncated_log_is_found(site: Path) -> None:
    tamper(
        site,
        "DELETE FROM log_nodes WHERE idx * (1 << level) + (1 << level) > 2",
        "DELETE FROM log_leaves WHERE idx = 2",
        "DELETE FROM envelopes WHERE id = 3",
    )
    code, report = verify(site)
    assert code == 1 and {"checkpoint_root", "completeness"} <= set(report["failed"])
    assert any("truncated log" in d for d in details(report, "checkpoint_root"))


def test_a_swapped_public_key_is_found(site: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept.checkpoint"
    assert osiris(site, "checkpoint", "export", str(kept)).returncode == 0
    (site / "keys" / "site.pub").write_text(SigningKey.generate().verify_key.encode().hex() + "\n")
    code, report = verify(site, "--checkpoint", str(kept))
    assert code == 1
    assert {"envelope_signature", "checkpoint_signature", "external_checkpoint"} <= set(
        report["failed"]
    )
    assert "not signed by a trusted key" in details(report, "envelope_signature")[0]


def test_a_log_rolled_back_whole_is_caught_by_a_checkpoint_kept_elsewhere(
    site: Path, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.checkpoint"
    assert osiris(site, "checkpoint", "export", str(kept)).returncode == 0
    # remove run 3 and every trace of it, checkpoints included: locally consistent
    tamper(
        site,
        "DELETE FROM checkpoints WHERE run_id = 3",
        "DELETE FROM log_nodes WHERE idx * (1 << level) + (1 << level) > 2",
        "DELETE FROM log_leaves WHERE idx = 2",
        "DELETE FROM envelopes WHERE id = 3",
        "DELETE FROM results WHERE run_id = 3",
        "DELETE FROM host_runs WHERE run_id = 3",
        "DELETE FROM runs WHERE id = 3",
    )
    assert failed(site) == []  # nothing inside the database can tell ...
    code, report = verify(site, "--checkpoint", str(kept))
    assert code == 1 and report["failed"] == ["external_checkpoint"]  # ... the kept one can
    assert "shrank or was replaced" in details(report, "external_checkpoint")[0]


def test_a_forked_log_is_caught_by_a_checkpoint_kept_elsewhere(
    site: Path, pristine: tuple[Path, Path], tmp_path: Path
) -> None:
    fork = tmp_path / "fork"
    shutil.copytree(site, fork)
    catalog = pristine[1]
    assert osiris(site, "scan", catalog=catalog).returncode == 1
    assert osiris(fork, "scan", catalog=catalog).returncode == 1
    kept = tmp_path / "kept.checkpoint"
    assert osiris(site, "checkpoint", "export", str(kept)).returncode == 0
    assert failed(site, "--checkpoint", str(kept)) == []
    assert failed(fork) == []  # the fork is self-consistent ...
    code, report = verify(fork, "--checkpoint", str(kept))
    assert code == 1 and report["failed"] == ["external_checkpoint"]  # ... but not ours
    assert "forked" in details(report, "external_checkpoint")[0]


def test_since_limits_the_bundle_checks_but_not_the_log(site: Path) -> None:
    started = rows(site, "SELECT started_at FROM runs WHERE id = 3")[0][0]
    tamper(site, "UPDATE results SET status = 'pass' WHERE run_id = 1")
    assert failed(site) == ["results_match"]
    code, report = verify(site, "--since", started)
    assert code == 0 and report["since"] == started
    assert {p["name"]: p["checked"] for p in report["properties"]}["envelope_signature"] == 1
    tamper(site, "UPDATE log_leaves SET leaf_hash = zeroblob(32) WHERE idx = 0")
    assert "checkpoint_root" in failed(site, "--since", started)  # the log is always whole
    bad = osiris(site, "verify", "--since", "yesterday")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_the_human_report_names_each_failed_property(site: Path) -> None:
    tamper(site, "UPDATE results SET reason = 'edited' WHERE run_id = 1 AND check_id = 'lnx_a'")
    result = osiris(site, "verify")
    assert result.returncode == 1
    assert "✗ results_match" in result.stdout
    assert "verify: FAILED: results_match" in result.stdout


def test_an_emptied_database_is_not_whole_and_stays_empty(site: Path) -> None:
    (site / "osiris.db").write_bytes(b"")
    for name in ("osiris.db-wal", "osiris.db-shm"):
        (site / name).unlink(missing_ok=True)
    code, report = verify(site)
    assert code == 1 and not report["ok"] and report["failed"] == ["database"]
    (detail,) = details(report, "database")
    assert "osiris.db" in detail and "empty (0 bytes)" in detail
    skipped = {p["name"] for p in report["properties"] if p["skipped"]}
    assert "envelope_signature" in skipped and "completeness" in skipped
    assert (site / "osiris.db").stat().st_size == 0  # no fresh schema written into it
    human = osiris(site, "verify")
    assert human.returncode == 1 and "verify: FAILED: database" in human.stdout
    assert "the evidence is whole" not in human.stdout


def test_a_writing_command_never_refills_an_emptied_database(
    site: Path, pristine: tuple[Path, Path]
) -> None:
    (site / "osiris.db").write_bytes(b"")
    for name in ("osiris.db-wal", "osiris.db-shm"):
        (site / name).unlink(missing_ok=True)
    for args in (("scan",), ("checkpoint", "export", str(site.parent / "kept"))):
        line = one_line_error(osiris(site, *args, catalog=pristine[1]))
        assert "osiris.db: is empty (0 bytes)" in line, line
    assert (site / "osiris.db").stat().st_size == 0
    assert not (site.parent / "kept").exists()


def test_a_missing_database_is_not_whole_and_none_is_created(site: Path) -> None:
    (site / "osiris.db").unlink()
    for name in ("osiris.db-wal", "osiris.db-shm"):
        (site / name).unlink(missing_ok=True)
    code, report = verify(site)
    assert code == 1 and report["failed"] == ["database"]
    assert "no database here" in details(report, "database")[0]
    assert not (site / "osiris.db").exists()


def test_a_database_with_no_tables_is_not_whole(site: Path) -> None:
    for name in ("osiris.db", "osiris.db-wal", "osiris.db-shm"):
        (site / name).unlink(missing_ok=True)
    conn = sqlite3.connect(site / "osiris.db")
    conn.execute("CREATE TABLE x (y)")
    conn.execute("DROP TABLE x")
    conn.commit()
    conn.close()
    size = (site / "osiris.db").stat().st_size
    code, report = verify(site)
    assert code == 1 and report["failed"] == ["database"]
    assert "holds no tables" in details(report, "database")[0]
    assert (site / "osiris.db").stat().st_size == size


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("osiris: error: "), result.stderr
    return lines[0]


def checkpointed(home: Path) -> None:
    """Fold the write-ahead log into the database file (as a clean shutdown does)."""
    with sqlite3.connect(home / "osiris.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def test_a_truncated_database_is_one_line_naming_the_file_exit_2(site: Path) -> None:
    checkpointed(site)
    path = site / "osiris.db"
    for keep in (path.stat().st_size // 2, 4096 * 3, 50):
        data = path.read_bytes()
        path.write_bytes(data[:keep])
        for args in (("verify",), ("verify", "--json"), ("runs",), ("results",)):
            line = one_line_error(osiris(site, *args))
            assert str(path) in line, line
        assert path.stat().st_size == keep  # and nothing was written to it


def test_a_damaged_page_is_one_line_naming_the_file_exit_2(site: Path) -> None:
    checkpointed(site)
    path = site / "osiris.db"
    data = bytearray(path.read_bytes())
    page = 4096
    for at in range(page, len(data), page):  # every page but the first: a b-tree header
        data[at : at + 12] = b"\xff" * 12
    path.write_bytes(bytes(data))
    line = one_line_error(osiris(site, "verify"))
    assert str(path) in line and "damaged" in line


def test_a_file_that_is_not_sqlite_is_one_line_exit_2(site: Path) -> None:
    (site / "osiris.db").write_bytes(b"this is not a database\n" * 100)
    for args in (("verify",), ("runs",), ("incidents",), ("l2", "log")):
        line = one_line_error(osiris(site, *args))
        assert "osiris.db: is not an SQLite database" in line


def test_a_leaf_hash_stored_as_text_is_named_not_a_traceback(site: Path) -> None:
    # text that is not UTF-8: reading it raised "Could not decode to UTF-8"
    tamper(site, "UPDATE log_leaves SET leaf_hash = CAST(leaf_hash AS TEXT) WHERE idx = 1")
    result = osiris(site, "verify", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["failed"] == ["stored_values"]
    (detail,) = details(report, "stored_values")
    assert detail.startswith("log_leaves idx 1: leaf_hash") and "text" in detail
    assert "32-byte blob" in detail


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "UPDATE log_leaves SET leaf_hash = zeroblob(31) WHERE idx = 0",
            "log_leaves idx 0: leaf_hash",
        ),
        ("UPDATE log_nodes SET hash = 'abc' WHERE level = 1", "log_nodes level 1 idx 0: hash"),
        ("UPDATE envelopes SET envelope = x'00ff' WHERE id = 2", "envelopes id 2: envelope"),
        ("UPDATE envelopes SET run_id = 'two' WHERE id = 2", "envelopes id 2: run_id"),
        ("UPDATE checkpoints SET root_hash = 'abc' WHERE id = 1", "checkpoints id 1: root_hash"),
        ("UPDATE checkpoints SET tree_size = 1.5 WHERE id = 2", "checkpoints id 2: tree_size"),
        (
            "UPDATE envelopes SET payload_sha256 = 'abc' WHERE id = 1",
            "envelopes id 1: payload_sha256",
        ),
        ("UPDATE results SET status = x'01' WHERE run_id = 1", "results id "),
        ("UPDATE host_runs SET reached = 'yes'", "host_runs run 1 host "),
    ],
)
def test_every_stored_value_is_checked_for_type_and_size(
    site: Path, statement: str, expected: str
) -> None:
    tamper(site, statement)
    code, report = verify(site)
    assert code == 1 and "stored_values" in report["failed"]
    assert any(d.startswith(expected) for d in details(report, "stored_values")), details(
        report, "stored_values"
    )


def test_text_that_is_not_utf8_is_named_not_a_traceback(site: Path) -> None:
    tamper(
        site,
        "UPDATE results SET reason = CAST(x'66696e65ff' AS TEXT) WHERE run_id = 2"
        " AND check_id = 'lnx_a'",
    )
    code, report = verify(site)
    assert code == 1 and report["failed"] == ["results_match"]
    assert "changed: lnx_a" in details(report, "results_match")[0]
