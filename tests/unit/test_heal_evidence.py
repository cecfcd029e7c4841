"""A heal action's evidence, sealed in the transaction that finishes the action.

Driven through osiris.heal.store and osiris.heal.evidence on a real site (its real
Ed25519 key, real SQLite); tampering is done the way someone with write access to the
database file would (triggers dropped, rows edited), then `verify_log` must name it.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from osiris.evidence.bundle import seal_scan
from osiris.evidence.clock import ClockInfo
from osiris.evidence.keyfiles import KeyFiles, genesis_key, rotate_key
from osiris.evidence.keys import SiteSigner, keyid, load_signing_key
from osiris.evidence.log import LogError, append_bundles
from osiris.evidence.report import Property, VerifyReport
from osiris.evidence.verify import Trust, verify_log
from osiris.heal.evidence import ActionSeal
from osiris.heal.flywheel import count_outcome
from osiris.heal.signature import Drift
from osiris.heal.store import (
    finish_action,
    journal_action,
    live_incidents,
    mark_running,
    sync_incidents,
)
from osiris.model import CheckResult, Connection, Host, HostOutcome, Platform, Role, Status
from osiris.site import Site, init_site
from osiris.store.runs import RunStatus, finish_run, record_host, start_run

EMAIL = "jdoe@clinic.example"
DRIFT = Drift("lnx_t", Platform.LINUX, Status.FAIL, "bad_state", ("state",))
RUNBOOK_OUTPUT = f"TASK [fix] ***\nchanged: [ws1]\nmsg: fixed for {EMAIL}\n"
RECHECK_OUTPUT = b'@@osiris begin lnx_t\n{"state": "good"}\n@@osiris end lnx_t 0 3\n'


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return init_site(tmp_path / "home", "clinic-a")


def signer_of(site: Site) -> SiteSigner:
    return SiteSigner("clinic-a", load_signing_key(site.private_key_path))


def verify(site: Site) -> VerifyReport:
    key = genesis_key(KeyFiles(site.private_key_path.parent))
    return verify_log(site.database(), Trust("clinic-a", {keyid(key): key}), workers=1)


def running_action(db: sqlite_utils.Database, signer: SiteSigner) -> int:
    """A scan that found drift on ws1 (its signed bundle recorded as a scan does), and
    the action journalled to fix it."""
    host = Host("ws1", "192.0.2.10", Connection.SSH, Platform.LINUX, Role.SERVER)
    run_id = start_run(db, engine="direct", inventory=(), host_count=1, check_count=1)
    result = CheckResult("ws1", "lnx_t", Status.FAIL, "bad", {"state": "bad"})
    outcome = HostOutcome(host, (result,), raw_output=b'{"state": "bad"}')
    now = datetime.now(UTC)
    bundle = seal_scan(signer, run_id, outcome, finished=now, clock=ClockInfo("system"))
    record_host(db, run_id, outcome, within=lambda: append_bundles(db, [bundle]))
    sync_incidents(db, run_id, [outcome], now)
    finish_run(db, run_id, RunStatus.COMPLETE)
    (incident,) = live_incidents(db)
    action_id = journal_action(db, incident, "linux_test_fix", "test_fix", "l1", now)
    mark_running(db, action_id)
    return action_id


def finish(db: sqlite_utils.Database, signer: SiteSigner, action_id: int) -> None:
    """Finish the action as the heal session does: sealed and counted together."""
    seal = ActionSeal(signer, DRIFT, RUNBOOK_OUTPUT, RECHECK_OUTPUT)
    detail = f"2 tasks, changed True (for {EMAIL})"
    finish_action(
        db,
        action_id,
        "succeeded",
        "pass",
        detail,
        datetime.now(UTC),
        seal=seal,
        learn=lambda database, counted: count_outcome(database, counted, DRIFT),
    )


def heal_envelopes(db: sqlite_utils.Database) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT id, run_id, host, action_id, envelope FROM envelopes WHERE kind = 'heal'"
    ).fetchall()


def tamper(site: Site, *statements: str) -> None:
    conn = sqlite3.connect(site.db_path)
    with conn:
        conn.execute("DROP TRIGGER IF EXISTS envelopes_no_delete")
        for statement in statements:
            conn.execute(statement)
    conn.close()


def failures(report: VerifyReport, prop: Property) -> list[str]:
    return [f"{f.subject}: {f.detail}" for f in report[prop].failures]


def test_a_finished_action_is_signed_as_its_row_reads_and_verifies(site: Site) -> None:
    db = site.database()
    action_id = running_action(db, signer_of(site))
    finish(db, signer_of(site), action_id)
    ((env_id, run_id, host, sealed_for, text),) = heal_envelopes(db)
    assert (run_id, host, sealed_for) == (1, "ws1", action_id)
    statement = json.loads(base64.b64decode(json.loads(text)["payload"]))
    assert statement["predicateType"] == "https://osiris.dev/heal-action/v1"
    predicate = statement["predicate"]
    row = db.execute(
        "SELECT incident_id, state, pre_status, post_status, started_at, finished_at"
        " FROM heal_actions WHERE id = ?",
        [action_id],
    ).fetchone()
    action = predicate["action"]
    assert (action["id"], action["check"], action["runbook"], action["rule"]) == (
        action_id,
        "lnx_t",
        "linux_test_fix",
        "test_fix",
    )
    assert (
        action["incident"],
        action["state"],
        action["pre_status"],
        action["post_status"],
        action["started"],
        action["finished"],
    ) == row
    assert (predicate["kind"], predicate["run"], predicate["host"]) == ("heal", 1, {"name": "ws1"})
    assert predicate["pattern"] == DRIFT.with_runbook("linux_test_fix").signature
    # PHI: scrubbed in the signed row and in the raw artifacts, kept in the journal
    assert action["detail"] == "2 tasks, changed True (for [email])"
    assert EMAIL in db.execute("SELECT detail FROM heal_actions").fetchone()[0]
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert set(subjects) == {"runbook-output", "recheck-output"}
    stored = dict(db.execute("SELECT sha256, content FROM artifacts").fetchall())
    assert (
        bytes(stored[subjects["runbook-output"]])
        == RUNBOOK_OUTPUT.replace(EMAIL, "[email]").encode()
    )
    assert bytes(stored[subjects["recheck-output"]]) == RECHECK_OUTPUT
    report = verify(site)
    assert report.ok, report.failures
    assert report[Property.ACTIONS_MATCH].checked == 1
    assert report[Property.COMPLETENESS].checked == 2  # one host outcome, one action
    assert env_id == 2 and report.log_size == 2  # the scan's bundle, then the action's


def test_a_seal_that_fails_leaves_the_action_unfinished_and_unsealed(site: Site) -> None:
    db = site.database()
    action_id = running_action(db, signer_of(site))
    stale = signer_of(site)
    # `osiris keys rotate` runs while this process still holds the old key
    rotate_key(db, KeyFiles(site.private_key_path.parent), "clinic-a", "test rotation")
    with pytest.raises(LogError, match="rotated"):
        finish(db, stale, action_id)
    row = db.execute("SELECT state, finished_at FROM heal_actions").fetchone()
    assert row == ("running", None) and heal_envelopes(db) == []
    assert verify(site).ok  # an unfinished action needs no bundle yet
    finish(db, signer_of(site), action_id)  # the next heal settles it with the new key
    assert db.execute("SELECT state FROM heal_actions").fetchone() == ("succeeded",)
    assert len(heal_envelopes(db)) == 1
    assert verify(site).ok


@pytest.mark.parametrize(
    ("edit", "fields"),
    [
        ("state = 'failed', post_status = 'fail'", "post_status, state"),
        ("detail = '2 tasks, changed True'", "detail"),
        ("runbook_id = 'linux_other'", "runbook"),
        ("finished_at = '2020-01-01T00:00:00.000+00:00'", "finished"),
        ("host = 'ws2'", "host"),
    ],
)
def test_an_edited_action_row_fails_verify_naming_the_action(
    site: Site, edit: str, fields: str
) -> None:
    db = site.database()
    action_id = running_action(db, signer_of(site))
    finish(db, signer_of(site), action_id)
    tamper(site, f"UPDATE heal_actions SET {edit} WHERE id = {action_id}")
    report = verify(site)
    assert report.failed == [Property.ACTIONS_MATCH]
    (found,) = failures(report, Property.ACTIONS_MATCH)
    assert found == (
        f"action {action_id} (envelope 2, host ws1): the heal_actions row differs from the"
        f" signed action ({fields})"
    )


@pytest.mark.parametrize(
    ("edit", "counted"),
    [
        ("UPDATE pattern_outcomes SET signature = 'f00dfeed0000aaaa'", "f00dfeed0000"),
        ("DELETE FROM pattern_outcomes", "none"),
    ],
)
def test_an_outcome_counted_for_another_pattern_fails_verify(
    site: Site, edit: str, counted: str
) -> None:
    """The flywheel's counts are evidence too: an outcome moved to another pattern (to
    promote a runbook that did not earn it) or taken away is found."""
    db = site.database()
    action_id = running_action(db, signer_of(site))
    finish(db, signer_of(site), action_id)
    assert verify(site).ok
    signed = DRIFT.with_runbook("linux_test_fix").signature
    triggers = ("pattern_outcomes_no_update", "pattern_outcomes_no_delete")
    tamper(site, *(f"DROP TRIGGER {name}" for name in triggers), edit)
    report = verify(site)
    assert report.failed == [Property.ACTIONS_MATCH]
    (found,) = failures(report, Property.ACTIONS_MATCH)
    assert found == (
        f"action {action_id} (envelope 2, host ws1): signed for pattern {signed[:12]},"
        f" counted for {counted}"
    )


def test_a_deleted_heal_bundle_fails_completeness_naming_the_action(site: Site) -> None:
    db = site.database()
    action_id = running_action(db, signer_of(site))
    finish(db, signer_of(site), action_id)
    tamper(site, "DELETE FROM envelopes WHERE id = 2")
    report = verify(site)
    assert report.failed == [Property.COMPLETENESS]
    assert failures(report, Property.COMPLETENESS) == [
        f"action {action_id} (host ws1): is succeeded but has no signed bundle",
        "leaf 1: names envelope 2, which is missing",
    ]


def test_an_action_finished_without_evidence_is_found(site: Site) -> None:
    db = site.database()
    action_id = running_action(db, signer_of(site))
    # a writer that skips the seal (an old osiris, or a hand edit)
    tamper(site, f"UPDATE heal_actions SET state = 'failed' WHERE id = {action_id}")
    report = verify(site)
    assert report.failed == [Property.COMPLETENESS]
    assert failures(report, Property.COMPLETENESS) == [
        f"action {action_id} (host ws1): is failed but has no signed bundle"
    ]


def test_a_heal_bundle_whose_action_is_gone_is_found(site: Site) -> None:
    db = site.database()
    action_id = running_action(db, signer_of(site))
    finish(db, signer_of(site), action_id)
    tamper(site, f"DELETE FROM heal_actions WHERE id = {action_id}")
    report = verify(site)
    assert report.failed == [Property.ACTIONS_MATCH]
    assert failures(report, Property.ACTIONS_MATCH) == [
        f"action {action_id} (envelope 2, host ws1): the heal action is not in the database"
    ]
