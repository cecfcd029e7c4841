"""The flywheel on a real site database: only measured outcomes count, each action once;
candidates; promote and demote round trips through the rules file and load_rules; a
promoted rule that fails too often as L1 is demoted by itself."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from osiris.catalog import default_catalog_dir, load_catalog
from osiris.config import FlywheelConfig, HealConfig
from osiris.errors import InputError, OsirisError
from osiris.heal.flywheel import (
    Outcome,
    PatternState,
    candidates,
    count_outcome,
    find_pattern,
    list_patterns,
    outcome_of,
    record_outcome,
)
from osiris.heal.intent import IntentKind
from osiris.heal.plan import plan
from osiris.heal.promotion import (
    PROMOTED_FILE,
    auto_demote,
    demote,
    events,
    promote,
    promoted_path,
)
from osiris.heal.rules import load_rules, rule_files
from osiris.heal.runbooks import load_runbooks
from osiris.heal.signature import drift_of
from osiris.heal.snapshot import load_snapshot
from osiris.heal.store import Incident, finish_action, journal_action, mark_running
from osiris.model import Connection, Host, Role, Status
from osiris.store import open_database
from tests.unit.flywheel_history import BAD_L2, GOOD_L2, Done, act, open_incident, seed

CATALOG = load_catalog()
RUNBOOKS = load_runbooks(CATALOG)
SSH = CATALOG.get("lnx_ssh_hardening")
RUNBOOK = "linux_sshd_harden"
# root may log in with a password: evaluate rule root_password_login (fail)
ROOT_PASSWORD = {
    "running": True,
    "permit_root_login": "yes",
    "password_authentication": "yes",
    "permit_empty_passwords": "no",
    "max_auth_tries": 4,
    "root_login_from_match": False,
}
# too many tries: evaluate rule max_auth_tries_high (warning), another drift of the check
MANY_TRIES = {**ROOT_PASSWORD, "permit_root_login": "prohibit-password", "max_auth_tries": 10}
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
CONFIG = FlywheelConfig()


@pytest.fixture
def db(tmp_path: Path):
    (tmp_path / "home").mkdir()
    database = open_database(tmp_path / "home" / "osiris.db", create=True)
    yield database
    database.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def signature_of(facts: dict, status: Status = Status.FAIL, runbook: str = RUNBOOK) -> str:
    return drift_of(SSH, status, facts, SSH.default_thresholds()).with_runbook(runbook).signature


def seed_root_password(db, history, start=T0) -> list[int]:
    return seed(db, SSH, Status.FAIL, ROOT_PASSWORD, RUNBOOK, history, start)


# --- counting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "post_status", "outcome"),
    [
        ("succeeded", "pass", Outcome.SUCCESS),
        ("failed", "fail", Outcome.FAILURE),
        ("failed", None, Outcome.FAILURE),  # could not run at all
        ("rolled_back", None, Outcome.FAILURE),
        ("reconciled", "fail", Outcome.FAILURE),
        ("reconciled", "warning", Outcome.FAILURE),
        ("reconciled", "error", Outcome.FAILURE),
        ("reconciled", "pass", Outcome.UNVERIFIED),  # passes, but who made it pass?
        ("reconciled", None, Outcome.UNVERIFIED),  # host gone, never re-checked
    ],
)
def test_outcome_of_a_finished_action(state: str, post_status: str | None, outcome: Outcome):
    assert outcome_of(state, post_status) is outcome


def test_only_measured_outcomes_count(db) -> None:
    seed_root_password(
        db,
        [
            GOOD_L2,
            BAD_L2,
            Done(tier="l1", state="rolled_back", post_status=None),
            Done(tier="l1", state="reconciled", post_status="fail"),
            Done(tier="l1", state="reconciled", post_status="pass"),
            Done(tier="l2", state="reconciled", post_status=None),
        ],
    )
    (pattern,) = list_patterns(db)
    assert pattern.signature == signature_of(ROOT_PASSWORD)
    assert (pattern.l1_successes, pattern.l1_failures) == (0, 2)
    assert (pattern.l2_successes, pattern.l2_failures) == (1, 1)
    assert (pattern.occurrences, pattern.unverified) == (4, 2)
    assert pattern.success_rate == 0.25
    assert (pattern.check_id, pattern.runbook_id, pattern.status) == (SSH.id, RUNBOOK, "fail")
    assert (pattern.finding, pattern.facts) == (
        "root_password_login",
        ("password_authentication", "permit_root_login"),
    )
    assert pattern.first_seen.startswith("2025-03-01T09:00") and pattern.last_seen.startswith(
        "2025-03-01T09:05"
    )
    rows = db.execute("SELECT outcome, count(*) FROM pattern_outcomes GROUP BY outcome")
    assert dict(rows.fetchall()) == {"success": 1, "failure": 3, "unverified": 2}


def test_an_unfinished_action_counts_nothing(db) -> None:
    incident = open_incident(db, SSH, Status.FAIL, ROOT_PASSWORD, T0)
    _, outcome = act(db, incident, SSH, RUNBOOK, Done(state="running", post_status=None), T0)
    assert outcome is None
    assert list_patterns(db) == []
    assert db.execute("SELECT count(*) FROM pattern_outcomes").fetchone() == (0,)


def test_recording_an_action_again_counts_it_once(db) -> None:
    incident = open_incident(db, SSH, Status.FAIL, ROOT_PASSWORD, T0)
    action_id, first = act(db, incident, SSH, RUNBOOK, GOOD_L2, T0)
    assert first is Outcome.SUCCESS
    drift = drift_of(SSH, incident.status, incident.facts, SSH.default_thresholds())
    assert record_outcome(db, action_id, drift) is None
    assert record_outcome(db, action_id, drift) is None
    (pattern,) = list_patterns(db)
    assert (pattern.occurrences, pattern.l2_successes, pattern.unverified) == (1, 1, 0)
    assert db.execute("SELECT count(*) FROM pattern_outcomes").fetchone() == (1,)


def test_an_action_is_counted_in_the_transaction_that_finishes_it(db) -> None:
    """A crash right after the count (here: in it, after its writes) takes the finished
    row with it: the action is still running and counted nowhere, so the next heal's
    reconcile settles and counts it once. Then a clean finish commits row and count."""
    incident = open_incident(db, SSH, Status.FAIL, ROOT_PASSWORD, T0)
    drift = drift_of(SSH, incident.status, incident.facts, SSH.default_thresholds())
    action_id = journal_action(db, incident, RUNBOOK, "linux_ssh_hardening", "l1", T0)
    mark_running(db, action_id)

    def count_then_crash(database, counted: int) -> None:
        assert count_outcome(database, counted, drift) is Outcome.SUCCESS
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finish_action(
            db, action_id, "succeeded", "pass", "ok", T0, seal=noop, learn=count_then_crash
        )
    state = db.execute("SELECT state FROM heal_actions WHERE id = ?", [action_id]).fetchone()
    assert state == ("running",)
    assert db.execute("SELECT count(*) FROM pattern_outcomes").fetchone() == (0,)
    assert list_patterns(db) == []

    def count(database, counted: int) -> None:
        count_outcome(database, counted, drift)

    finish_action(db, action_id, "succeeded", "pass", "ok", T0, seal=noop, learn=count)
    (pattern,) = list_patterns(db)
    assert (pattern.occurrences, pattern.l1_successes) == (1, 1)


def noop(_db, _action_id: int) -> None:
    """A seal that signs nothing (the evidence of actions is tested elsewhere)."""


def test_counted_outcomes_cannot_be_rewritten(db) -> None:
    seed_root_password(db, [GOOD_L2])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE pattern_outcomes SET outcome = 'failure'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM pattern_outcomes")


def test_another_finding_or_runbook_is_another_pattern(db) -> None:
    seed_root_password(db, [GOOD_L2])
    seed(db, SSH, Status.WARNING, MANY_TRIES, RUNBOOK, [GOOD_L2], T0)
    seed(db, SSH, Status.FAIL, ROOT_PASSWORD, "linux_ssh_crypto", [GOOD_L2], T0)
    assert {p.signature for p in list_patterns(db)} == {
        signature_of(ROOT_PASSWORD),
        signature_of(MANY_TRIES, Status.WARNING),
        signature_of(ROOT_PASSWORD, runbook="linux_ssh_crypto"),
    }


# --- candidates -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "candidate"),
    [
        ([GOOD_L2] * 3 + [Done(tier="l1")] * 2, True),  # 5 measured, 100%, 3 by L2
        ([GOOD_L2] * 4, False),  # 4 measured
        ([GOOD_L2] * 2 + [Done(tier="l1")] * 3, False),  # 2 by L2
        ([GOOD_L2] * 9 + [BAD_L2], True),  # 90%
        ([GOOD_L2] * 8 + [BAD_L2] * 2, False),  # 80%
        # unverified outcomes neither help nor hurt
        ([GOOD_L2] * 4 + [Done(state="reconciled", post_status="pass")] * 3, False),
    ],
)
def test_candidates_need_occurrences_success_and_l2_successes(
    db, history: list[Done], candidate: bool
) -> None:
    seed_root_password(db, history)
    assert bool(candidates(db, CONFIG)) is candidate
    (pattern,) = list_patterns(db)
    assert pattern.state(CONFIG) is (PatternState.CANDIDATE if candidate else PatternState.LEARNING)


def test_candidate_thresholds_are_configurable(db) -> None:
    seed_root_password(db, [GOOD_L2] * 2)
    assert candidates(db, CONFIG) == []
    relaxed = FlywheelConfig(min_occurrences=2, min_l2_successes=2, min_success_rate=1.0)
    assert [p.signature for p in candidates(db, relaxed)] == [signature_of(ROOT_PASSWORD)]


def test_patterns_are_found_by_a_signature_prefix(db) -> None:
    seed_root_password(db, [GOOD_L2])
    signature = signature_of(ROOT_PASSWORD)
    assert find_pattern(db, signature[:8].upper()).signature == signature
    with pytest.raises(InputError, match="not a pattern signature"):
        find_pattern(db, "abc")
    with pytest.raises(InputError, match="no pattern"):
        find_pattern(db, "00000000")


# --- promote and demote -----------------------------------------------------------


def site_rules(home: Path, rules: list[dict]) -> None:
    (home / "rules").mkdir(parents=True, exist_ok=True)
    (home / "rules" / "site.yaml").write_text(yaml.safe_dump({"rules": rules}))


# the built-in rule that would fix the drift: turned off, so only a promoted rule can
BUILTIN_OFF = {
    "id": "linux_ssh_hardening",
    "description": "turned off here",
    "checks": ["lnx_ssh_hardening"],
    "runbook": RUNBOOK,
    "enabled": False,
}


def do_promote(db, home: Path, ref: str, **extra):
    return promote(
        db,
        home,
        ref,
        catalog=CATALOG,
        runbooks=RUNBOOKS,
        builtin_dir=default_catalog_dir(),
        config=CONFIG,
        now=extra.pop("now", T0 + timedelta(days=1)),
        **extra,
    )


def site_rules_loaded(home: Path):
    return load_rules(rule_files(default_catalog_dir(), home), CATALOG, RUNBOOKS)


def plan_step(db, rules, incident: Incident):
    host = Host(incident.host, "192.0.2.10", Connection.SSH, SSH.platform, Role.WORKSTATION)
    snapshot = load_snapshot(
        db,
        [incident],
        hosts={host.name: host},
        rules=rules,
        runbooks=RUNBOOKS,
        config=HealConfig(),
        l2=None,
        now=T0 + timedelta(days=2),
        drift_of=lambda i: drift_of(SSH, i.status, i.facts, SSH.default_thresholds()),
    )
    (intent,) = plan(snapshot).intents
    return intent


def test_promote_writes_an_l1_rule_for_exactly_this_drift(db, home: Path) -> None:
    site_rules(home, [BUILTIN_OFF])
    seed_root_password(db, [GOOD_L2] * 5)
    signature = signature_of(ROOT_PASSWORD)
    pattern, rule_id = do_promote(db, home, signature[:10], cooldown="10m", max_retries=2)
    assert rule_id == f"promoted_{signature[:12]}" == pattern.promoted_rule_id
    assert pattern.state(CONFIG) is PatternState.PROMOTED
    (written,) = yaml.safe_load(promoted_path(home).read_text())["rules"]
    assert written["checks"] == [SSH.id] and written["runbook"] == RUNBOOK
    assert written["when"] == {
        "all": [{"fact": "status", "eq": "fail"}, {"fact": "finding", "eq": "root_password_login"}]
    }
    assert signature in written["description"]
    rules = site_rules_loaded(home)
    (promoted,) = [r for r in rules if r.id == rule_id]
    assert promoted.source == str(promoted_path(home))
    assert (promoted.cooldown, promoted.max_retries) == (timedelta(minutes=10), 2)
    # the planner picks it for this drift, and for no other drift of the check
    same = plan_step(db, rules, open_incident(db, SSH, Status.FAIL, ROOT_PASSWORD, T0))
    assert (same.kind, same.rule and same.rule.id, same.runbook and same.runbook.id) == (
        IntentKind.HEAL,
        rule_id,
        RUNBOOK,
    )
    other = plan_step(db, rules, open_incident(db, SSH, Status.WARNING, MANY_TRIES, T0))
    assert (other.kind, other.rule) == (IntentKind.ESCALATE, None)
    # the rule files and the writer's lock, no temp file left behind
    assert sorted(p.name for p in (home / "rules").iterdir()) == [
        ".promoted.lock",
        PROMOTED_FILE,
        "site.yaml",
    ]
    assert [e["event"] for e in events(db, signature)] == ["promoted"]


def test_promote_keeps_other_promoted_rules_and_demote_removes_only_its_own(db, home: Path) -> None:
    seed_root_password(db, [GOOD_L2] * 5)
    seed(db, SSH, Status.WARNING, MANY_TRIES, RUNBOOK, [GOOD_L2] * 5, T0)
    first, second = signature_of(ROOT_PASSWORD), signature_of(MANY_TRIES, Status.WARNING)
    do_promote(db, home, first)
    do_promote(db, home, second)
    ids = {f"promoted_{first[:12]}", f"promoted_{second[:12]}"}
    assert {r.id for r in site_rules_loaded(home)} >= ids
    demoted = demote(db, home, first, reason="ticket 42: breaks a vendor login", now=T0)
    assert demoted.demoted and demoted.demoted_reason == "ticket 42: breaks a vendor login"
    assert demoted.state(CONFIG) is PatternState.DEMOTED
    written = yaml.safe_load(promoted_path(home).read_text())["rules"]
    assert [r["id"] for r in written] == [f"promoted_{second[:12]}"]
    loaded = {r.id for r in site_rules_loaded(home)}
    assert f"promoted_{second[:12]}" in loaded and f"promoted_{first[:12]}" not in loaded
    # a demoted pattern is no candidate, and is promoted again only on purpose
    assert [p.signature for p in candidates(db, CONFIG)] == []
    with pytest.raises(OsirisError, match="not a candidate"):
        do_promote(db, home, first)
    again, _ = do_promote(db, home, first, force=True)
    assert again.promoted and not again.demoted
    assert [(e["event"], e["actor"]) for e in events(db, first)] == [
        ("promoted", "operator"),
        ("demoted", "operator"),
        ("promoted", "operator"),
    ]


def test_promote_refuses_what_is_not_a_candidate_or_would_not_load(db, home: Path) -> None:
    seed_root_password(db, [GOOD_L2] * 4)
    signature = signature_of(ROOT_PASSWORD)
    with pytest.raises(OsirisError, match=r"not a candidate \(4 measured of 5"):
        do_promote(db, home, signature)
    assert not promoted_path(home).exists()
    # a site rule already using the id: the rewrite would not load, nothing is replaced
    site_rules(home, [{**BUILTIN_OFF, "id": f"promoted_{signature[:12]}", "enabled": True}])
    with pytest.raises(OsirisError, match=r"would not load.*duplicate rule id"):
        do_promote(db, home, signature, force=True)
    assert not promoted_path(home).exists()
    assert not find_pattern(db, signature).promoted
    assert [p.name for p in (home / "rules").glob(".promoted.*.tmp")] == []


def test_a_pattern_without_a_finding_cannot_be_promoted(db, home: Path) -> None:
    seed(db, SSH, Status.FAIL, {"running": True}, RUNBOOK, [GOOD_L2] * 5, T0)  # malformed facts
    (pattern,) = list_patterns(db)
    assert pattern.finding is None and candidates(db, CONFIG) == []
    with pytest.raises(OsirisError, match="no finding"):
        do_promote(db, home, pattern.signature, force=True)


# --- automatic demotion -----------------------------------------------------------


def test_a_promoted_rule_that_fails_too_often_is_demoted(db, home: Path) -> None:
    seed_root_password(db, [GOOD_L2] * 5)
    signature = signature_of(ROOT_PASSWORD)
    promoted_at = T0 + timedelta(days=1)
    _, rule_id = do_promote(db, home, signature, now=promoted_at)
    after = promoted_at + timedelta(hours=1)
    as_rule = Done(tier="l1", rule_id=rule_id)
    failing = Done(tier="l1", rule_id=rule_id, state="failed", post_status="fail")
    # what does not count: L2 failures, another rule's failures, anything before promotion
    seed_root_password(db, [BAD_L2] * 3, start=after)
    seed_root_password(db, [Done(tier="l1", state="failed", post_status="fail")] * 3, after)
    seed_root_password(db, [Done("l1", "failed", "fail", rule_id)] * 3, T0)
    # 4 good and 1 failed fix as L1: 20% is not over 20%
    seed_root_password(db, [as_rule] * 4 + [failing], start=after)
    assert auto_demote(db, home, CONFIG, after) == []
    assert find_pattern(db, signature).promoted
    # one more failure: 2 of 6, 33%
    seed_root_password(db, [failing], start=after + timedelta(hours=1))
    (note,) = auto_demote(db, home, CONFIG, after + timedelta(hours=2))
    assert note.startswith(f"demoted rule {rule_id}: 2 of 6 fixes")
    pattern = find_pattern(db, signature)
    assert pattern.demoted and "33% > 20%" in (pattern.demoted_reason or "")
    assert pattern.demoted_at == "2025-03-02T12:00:00.000+00:00"
    assert yaml.safe_load(promoted_path(home).read_text())["rules"] == []
    assert rule_id not in {r.id for r in site_rules_loaded(home)}
    assert [(e["event"], e["actor"]) for e in events(db, signature)] == [
        ("promoted", "operator"),
        ("demoted", "auto"),
    ]
    assert auto_demote(db, home, CONFIG, after + timedelta(hours=3)) == []  # once


def test_auto_demotion_waits_for_enough_outcomes(db, home: Path) -> None:
    seed_root_password(db, [GOOD_L2] * 5)
    signature = signature_of(ROOT_PASSWORD)
    _, rule_id = do_promote(db, home, signature, now=T0 + timedelta(days=1))
    failing = Done(tier="l1", rule_id=rule_id, state="failed", post_status="fail")
    seed_root_password(db, [failing] * 2, start=T0 + timedelta(days=2))
    assert auto_demote(db, home, CONFIG, T0 + timedelta(days=3)) == []
    strict = FlywheelConfig(demote_min_outcomes=2)
    assert len(auto_demote(db, home, strict, T0 + timedelta(days=3))) == 1


def test_patterns_learned_by_position_migrate_as_history(db, home: Path) -> None:
    """A site whose patterns were learned under signature version 1 (findings by position,
    an INTEGER column) upgrades in place: every row and outcome is kept, the position
    reads '#N', and such a pattern is never a candidate nor promotable."""
    seed_root_password(db, [GOOD_L2] * 5)
    signature = signature_of(ROOT_PASSWORD)
    outcomes = db.execute("SELECT * FROM pattern_outcomes ORDER BY action_id").fetchall()
    # put the table back as migration 8 left it, holding a version 1 row
    db.conn.executescript(
        f"""
        PRAGMA foreign_keys = OFF;
        BEGIN;
        CREATE TABLE patterns_old AS SELECT * FROM patterns;
        DROP TABLE patterns;
        CREATE TABLE patterns ({_V8_COLUMNS});
        INSERT INTO patterns SELECT * FROM patterns_old;
        DROP TABLE patterns_old;
        UPDATE patterns SET finding = 2, signature_version = 1;
        PRAGMA user_version = 8;
        COMMIT;
        """
    )
    db.close()
    upgraded = open_database(home / "osiris.db")
    (pattern,) = list_patterns(upgraded)
    assert (pattern.signature, pattern.signature_version, pattern.finding) == (signature, 1, "#2")
    assert pattern.occurrences == 5
    assert upgraded.execute("SELECT * FROM pattern_outcomes ORDER BY action_id").fetchall() == (
        outcomes
    )
    assert upgraded.execute("PRAGMA foreign_key_check").fetchall() == []
    assert upgraded.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert candidates(upgraded, CONFIG) == []
    with pytest.raises(OsirisError, match="signature version 1"):
        do_promote(upgraded, home, signature, force=True)


_V8_COLUMNS = """
    signature TEXT PRIMARY KEY, signature_version INTEGER NOT NULL, check_id TEXT NOT NULL,
    platform TEXT NOT NULL, status TEXT NOT NULL, finding INTEGER NOT NULL,
    facts TEXT NOT NULL, runbook_id TEXT NOT NULL,
    occurrences INTEGER NOT NULL DEFAULT 0, l1_successes INTEGER NOT NULL DEFAULT 0,
    l1_failures INTEGER NOT NULL DEFAULT 0, l2_successes INTEGER NOT NULL DEFAULT 0,
    l2_failures INTEGER NOT NULL DEFAULT 0, unverified INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, promoted_rule_id TEXT,
    promoted_at TEXT, demoted INTEGER NOT NULL DEFAULT 0, demoted_at TEXT,
    demoted_reason TEXT
"""
