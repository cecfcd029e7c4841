"""The SQLite Merkle log: atomic appends with the results, roots, proofs, concurrency."""

from __future__ import annotations

import base64
import itertools
import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from osiris.evidence.bundle import seal_scan
from osiris.evidence.checkpoint import verify_checkpoint
from osiris.evidence.clock import ClockInfo
from osiris.evidence.keys import SiteSigner, keyid, load_signing_key
from osiris.evidence.log import (
    LogError,
    append_bundles,
    checkpoint_covering_all,
    current_root,
    latest_checkpoint_note,
    leaf_index_of,
    prove_consistency,
    prove_inclusion,
    tree_size,
    write_checkpoint,
)
from osiris.evidence.merkle import MemoryTree, verify_consistency, verify_inclusion
from osiris.evidence.report import Property
from osiris.evidence.verify import Trust, verify_log
from osiris.model import CheckResult, Connection, Host, HostOutcome, Platform, Role, Status
from osiris.site import init_site
from osiris.store.runs import RunStatus, finish_run, record_host, start_run, transaction

REPO = Path(__file__).resolve().parents[2]


def outcome(name: str, n: int = 3) -> HostOutcome:
    host = Host(name, "10.0.0.1", Connection.SSH, Platform.LINUX, Role.SERVER)
    results = tuple(
        CheckResult(name, f"lnx_c{i}", Status.PASS, "fine", facts={"i": i}) for i in range(n)
    )
    return HostOutcome(host, results, duration_ms=10.0, raw_output=b"probe output")


def record(db: sqlite_utils.Database, signer: SiteSigner, run_id: int, name: str) -> None:
    bundle = seal_scan(
        signer, run_id, outcome(name), finished=datetime.now(UTC), clock=ClockInfo("system")
    )
    record_host(db, run_id, outcome(name), within=lambda: append_bundles(db, [bundle]))


@pytest.fixture
def site(tmp_path: Path) -> tuple[sqlite_utils.Database, SiteSigner, Path]:
    made = init_site(tmp_path / "home", "clinic-a")
    signer = SiteSigner("clinic-a", load_signing_key(made.private_key_path))
    return made.database(), signer, made.db_path


def trust(signer: SiteSigner) -> Trust:
    return Trust(signer.site_id, {keyid(signer.verify_key): signer.verify_key})


def count(db: sqlite_utils.Database, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_results_and_evidence_commit_together_or_not_at_all(site) -> None:
    db, signer, _ = site
    run_id = start_run(db, engine="direct", inventory=(), host_count=2, check_count=3)
    record(db, signer, run_id, "ws1")

    def broken() -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        record_host(db, run_id, outcome("ws2"), within=broken)
    assert [count(db, t) for t in ("host_runs", "results", "envelopes", "log_leaves")] == [
        1,
        3,
        1,
        1,
    ]
    with pytest.raises(LogError, match="inside the caller's write transaction"):
        append_bundles(db, [])  # even empty: the contract is checked first
    bundle = seal_scan(signer, run_id, outcome("ws3"), finished=datetime.now(UTC),
                       clock=ClockInfo("system"))  # fmt: skip
    with pytest.raises(LogError):
        append_bundles(db, [bundle])
    assert count(db, "envelopes") == 1


def test_evidence_tables_refuse_updates_and_deletes(site) -> None:
    db, signer, _ = site
    run_id = start_run(db, engine="direct", inventory=(), host_count=1, check_count=3)
    record(db, signer, run_id, "ws1")
    write_checkpoint(db, signer, run_id)
    for statement in (
        "UPDATE envelopes SET host = 'x'",
        "DELETE FROM envelopes",
        "UPDATE log_leaves SET leaf_hash = zeroblob(32)",
        "DELETE FROM log_leaves",
        "DELETE FROM checkpoints",
        "UPDATE checkpoints SET tree_size = 0",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(statement)


def test_roots_and_proofs_from_the_database_match_the_rfc_tree(site) -> None:
    db, signer, _ = site
    run_id = start_run(db, engine="direct", inventory=(), host_count=21, check_count=3)
    for i in range(21):
        record(db, signer, run_id, f"h{i:02d}")
        leaves = [bytes(r[0]) for r in db.execute("SELECT leaf_hash FROM log_leaves ORDER BY idx")]
        assert current_root(db) == (i + 1, MemoryTree(leaves).root())
    size, root = current_root(db)
    for env_id in range(1, size + 1):
        index = leaf_index_of(db, env_id)
        leaf = bytes(
            db.execute("SELECT leaf_hash FROM log_leaves WHERE idx = ?", [index]).fetchone()[0]
        )
        verify_inclusion(leaf, index, size, prove_inclusion(db, index, size), root)
    for old in range(size + 1):
        _, old_root = current_root(db, old)
        verify_consistency(old, size, old_root, root, prove_consistency(db, old, size))


def test_a_checkpoint_signs_the_whole_log(site) -> None:
    db, signer, _ = site
    run_id = start_run(db, engine="direct", inventory=(), host_count=3, check_count=3)
    for name in ("a", "b", "c"):
        record(db, signer, run_id, name)
    stored = write_checkpoint(db, signer, run_id)
    checkpoint = verify_checkpoint(
        latest_checkpoint_note(db) or "", signer.origin, signer.verify_key
    )
    assert (checkpoint.size, checkpoint.root) == current_root(db) == (stored.size, stored.root)


WRITER = """
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from osiris.evidence.keys import SiteSigner, load_signing_key
from osiris.evidence.log import write_checkpoint
from osiris.store import open_database
from osiris.store.runs import RunStatus, finish_run, start_run
from tests.unit.test_evidence_log import record

home, tag, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
db = open_database(home / "osiris.db")
signer = SiteSigner("clinic-a", load_signing_key(home / "keys" / "site.key"))
run_id = start_run(db, engine="direct", inventory=(), host_count=n, check_count=3)
if not (home / "go").exists():  # start together, so that the writers really overlap
    print("ready", flush=True)
    while not (home / "go").exists():
        time.sleep(0.01)
for i in range(n):
    record(db, signer, run_id, f"{tag}-{i:04d}")
    print(i, flush=True)
finish_run(db, run_id, RunStatus.COMPLETE)
write_checkpoint(db, signer, run_id)
"""


def _writer(home: Path, tag: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(home), tag, str(n)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_writers_cannot_break_the_log(site) -> None:
    db, signer, db_path = site
    writers = [_writer(db_path.parent, f"w{i}", 100) for i in range(4)]
    for w in writers:
        assert w.stdout is not None and w.stdout.readline().strip() == "ready"
    (db_path.parent / "go").touch()
    for w in writers:
        _, stderr = w.communicate(timeout=180)
        assert w.returncode == 0, stderr
    assert tree_size(db) == count(db, "envelopes") == count(db, "host_runs") == 400
    report = verify_log(db, trust(signer))
    assert report.ok, [f.detail for f in report.failures]
    assert report.checkpoint_size == 400 and report.log_size == 400
    # the writers really did take turns: their leaves interleave
    runs = [r[0] for r in db.execute("SELECT e.run_id FROM log_leaves l JOIN envelopes e"
                                     " ON e.id = l.envelope_id ORDER BY l.idx")]  # fmt: skip
    assert sum(a != b for a, b in itertools.pairwise(runs)) > 3


def test_a_writer_killed_mid_run_leaves_whole_hosts_with_their_evidence(site) -> None:
    db, signer, db_path = site
    (db_path.parent / "go").touch()
    writer = _writer(db_path.parent, "k", 100_000)
    assert writer.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and int(writer.stdout.readline() or -1) < 30:
        pass
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert count(db, "host_runs") >= 30
    report = verify_log(db, trust(signer))
    assert report.ok, [f.detail for f in report.failures]
    assert count(db, "host_runs") == count(db, "envelopes") == tree_size(db)
    assert count(db, "results") == 3 * count(db, "host_runs")
    assert any("newer than the latest signed checkpoint" in n for n in report.notes)
    # the next run's checkpoint covers what the killed one left
    run_id = start_run(db, engine="direct", inventory=(), host_count=0, check_count=0)
    finish_run(db, run_id, RunStatus.COMPLETE)
    write_checkpoint(db, signer, run_id)
    assert verify_log(db, trust(signer)).checkpoint_size == tree_size(db)


def test_verify_fans_out_to_worker_processes_for_big_logs(site, monkeypatch) -> None:
    from osiris.evidence import walk

    db, signer, _ = site
    run_id = start_run(db, engine="direct", inventory=(), host_count=30, check_count=3)
    for i in range(30):
        record(db, signer, run_id, f"h{i:02d}")
    write_checkpoint(db, signer, run_id)
    monkeypatch.setattr(walk, "PARALLEL_MIN", 10)
    monkeypatch.setattr(walk, "CHUNK", (4, 50))

    def not_here(*args: object) -> None:
        raise AssertionError("checked in the parent process, not in the workers")

    monkeypatch.setattr(walk, "check_range", not_here)  # the spawned workers keep theirs
    report = verify_log(db, trust(signer), workers=2)
    assert report.ok and report[Property.ENVELOPE_SIGNATURE].checked == 30
    # a forged signature is found by whichever worker holds it
    document = json.loads(db.execute("SELECT envelope FROM envelopes WHERE id = 17").fetchone()[0])
    sig = bytearray(base64.b64decode(document["signatures"][0]["sig"]))
    sig[0] ^= 1
    document["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    with transaction(db):
        db.execute("DROP TRIGGER envelopes_no_update")
        db.execute("UPDATE envelopes SET envelope = ? WHERE id = 17", [json.dumps(document)])
    report = verify_log(db, trust(signer), workers=2)
    assert [(f.subject, f.detail) for f in report.failures] == [
        ("envelope 17 (run 1, host h16)", f"signature by key {signer.keyid[:16]} does not verify")
    ]


def test_awkward_facts_verify_and_a_retyped_fact_is_found(site) -> None:
    db, signer, _ = site
    facts = {
        "huge": 1e20, "big": 2**60, "one": 1.0, "flag": 1, "tiny": 1e-7, "ratio": 0.25,
        "mail": "jdoe@clinic.example", "nested": {"dob": "1980-01-02", "list": [1, "2", None]},
        "ünïcode": "é",
    }  # fmt: skip
    host = Host("ws9", "10.0.0.9", Connection.SSH, Platform.LINUX, Role.SERVER)
    result = CheckResult("ws9", "lnx_x", Status.WARNING, "mail jdoe@clinic.example", facts=facts)
    odd = HostOutcome(host, (result,), duration_ms=1.0, raw_output=b"odd output")
    run_id = start_run(db, engine="direct", inventory=(), host_count=1, check_count=1)
    bundle = seal_scan(signer, run_id, odd, finished=datetime.now(UTC), clock=ClockInfo("system"))
    record_host(db, run_id, odd, within=lambda: append_bundles(db, [bundle]))
    write_checkpoint(db, signer, run_id)
    assert verify_log(db, trust(signer)).ok
    # 1 -> true reads the same to a lax comparison; the verifier is not lax
    stored = json.loads(db.execute("SELECT facts FROM results").fetchone()[0])
    db.execute("UPDATE results SET facts = ?", [json.dumps({**stored, "flag": True})])
    report = verify_log(db, trust(signer))
    assert report.failed == [Property.RESULTS_MATCH]
    assert "changed: lnx_x" in report.failures[0].detail


def test_an_exported_checkpoint_always_covers_the_whole_log(site) -> None:
    db, signer, _ = site
    run_id = start_run(db, engine="direct", inventory=(), host_count=2, check_count=3)
    record(db, signer, run_id, "a")
    first = write_checkpoint(db, signer, run_id)
    assert checkpoint_covering_all(db, lambda: pytest.fail("no signing needed")) == first
    record(db, signer, run_id, "b")  # a run killed before its checkpoint
    fresh = checkpoint_covering_all(db, lambda: signer)
    assert (fresh.size, fresh.id) == (2, first.id + 1)
    assert checkpoint_covering_all(db, lambda: pytest.fail("no signing needed")) == fresh
