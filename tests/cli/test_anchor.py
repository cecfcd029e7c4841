"""`osiris anchor` against a local OpenTimestamps calendar stub, and `osiris verify`
replaying the proofs offline. No test reaches the internet: every calendar URL is the
stub's (on the command line or in config.yaml)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from osiris.evidence.ots import MAGIC
from tests.cli.test_scan_local import make_catalog
from tests.cli.test_verify import PROBES, details, osiris, rows, tamper, verify
from tests.unit.test_evidence_ots import CalendarStub


@pytest.fixture
def calendar() -> Iterator[CalendarStub]:
    stub = CalendarStub()
    yield stub
    stub.close()


@pytest.fixture
def site(tmp_path: Path, calendar: CalendarStub) -> Path:
    catalog = make_catalog(tmp_path / "catalog", PROBES)
    home = tmp_path / "home"
    assert osiris(home, "init", "--site-id", "clinic-a").returncode == 0
    config = yaml.safe_load((home / "config.yaml").read_text())
    config["anchor"] = {"calendars": [calendar.url], "timeout": 5}  # never the public ones
    (home / "config.yaml").write_text(yaml.safe_dump(config))
    assert osiris(home, "scan", catalog=catalog).returncode == 1
    return home


def anchor(home: Path, *args: str) -> dict:
    result = osiris(home, "anchor", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def timestamp_notes(report: dict) -> list[str]:
    return [n for n in report["notes"] if n.startswith("checkpoint ")]


def test_anchor_then_upgrade_then_verify_against_a_block_header(
    site: Path, calendar: CalendarStub, tmp_path: Path
) -> None:
    stamped = anchor(site)  # the calendars of config.yaml
    assert stamped["anchored"] and stamped["calendars"] == [calendar.url]
    assert calendar.requests == ["POST /digest"]
    assert anchor(site)["anchored"] is False  # already anchored: nothing sent
    (proof, complete) = rows(site, "SELECT proof, complete FROM anchors")[0]
    assert bytes(proof).startswith(MAGIC) and complete == 0
    code, report = verify(site)
    assert code == 0
    assert timestamp_notes(report) == [
        f"checkpoint 1: timestamp pending at {calendar.url} (run `osiris anchor --upgrade` later)"
    ]
    assert anchor(site, "--upgrade")["upgraded"] == []  # the calendar has no block yet
    header = calendar.confirm(height=840_000)
    assert anchor(site, "--upgrade")["upgraded"] == [1]
    assert rows(site, "SELECT checkpoint_id, complete FROM anchors") == [(1, 0), (1, 1)]
    code, report = verify(site)
    assert code == 0 and any("not checked (no --block-headers" in n for n in report["notes"])
    headers = tmp_path / "headers.bin"
    headers.write_bytes(bytes(80) + header)  # raw 80-byte records, the right one second
    code, report = verify(site, "--block-headers", str(headers))
    assert code == 0
    assert any(
        n.startswith("checkpoint 1: anchored in Bitcoin block 840000 (hash ")
        for n in report["notes"]
    )
    lines = tmp_path / "headers.txt"
    lines.write_text(f"840001 {header.hex()}\n")  # the right root at the wrong height
    code, report = verify(site, "--block-headers", str(lines))
    assert code == 1 and report["failed"] == ["timestamps"]
    assert "no supplied block header has that merkle root" in details(report, "timestamps")[0]
    lines.write_text(f"# height and header\n840000 {header.hex()}\n")
    assert verify(site, "--block-headers", str(lines))[0] == 0


def test_a_proof_that_does_not_lead_from_its_checkpoint_fails_verify(
    site: Path, calendar: CalendarStub
) -> None:
    anchor(site, "--calendar", calendar.url)
    (proof,) = rows(site, "SELECT proof FROM anchors")[0]
    forged = bytearray(proof)
    forged[len(MAGIC) + 2] ^= 0xFF  # the digest the proof starts from
    tamper(site, "UPDATE anchors SET proof = ?", params=(bytes(forged),))
    code, report = verify(site)
    assert code == 1 and report["failed"] == ["timestamps"]
    (detail,) = details(report, "timestamps")
    assert detail.startswith("anchor 1 (checkpoint 1): ")
    assert "does not lead from its checkpoint" in detail
    tamper(site, "UPDATE anchors SET proof = ?", params=(b"garbage",))
    assert "not a readable .ots proof" in details(verify(site)[1], "timestamps")[0]


def test_anchor_fails_cleanly_without_a_reachable_calendar(site: Path, tmp_path: Path) -> None:
    result = osiris(site, "anchor", "--calendar", "http://127.0.0.1:9", "--timeout", "1")
    assert result.returncode == 2
    assert "no calendar timestamped the checkpoint" in result.stderr
    assert rows(site, "SELECT count(*) FROM anchors") == [(0,)]
    bad = tmp_path / "bad-headers"
    bad.write_bytes(b"\x00" * 81)
    result = osiris(site, "verify", "--block-headers", str(bad))
    assert result.returncode == 2 and "--block-headers" in result.stderr
