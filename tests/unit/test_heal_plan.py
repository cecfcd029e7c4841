"""Planning is pure: it reads a snapshot and returns intents, so a dry run plans exactly
what a real heal would, and writes nothing. A rule's matching code is trusted only as
far as the condition language says (a missing or mistyped fact is "no match");
anything else it raises is a bug."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest
import sqlite_utils

from osiris.conditions import Compare, Condition
from osiris.config import EscalationConfig, HealConfig, L2Config
from osiris.heal import apply, approvals
from osiris.heal.intent import IntentKind, Rail
from osiris.heal.l2 import log as l2_log
from osiris.heal.plan import decide, plan
from osiris.heal.rules import Rule
from osiris.heal.signature import drift_of
from osiris.heal.snapshot import Snapshot, load_snapshot
from osiris.heal.store import (
    Incident,
    incident_changes,
    incidents_after,
    live_incidents,
    set_state,
    sync_incidents,
)
from osiris.model import CheckResult, HostOutcome, L2Verdict, Status, Tier
from osiris.store.runs import start_run
from tests.unit.l2_support import (
    CATALOG,
    NOW,
    RUNBOOKS,
    USB_OPEN,
    lab_host,
    new_db,
    open_incident,
)

USB = CATALOG.get("lnx_usb_storage")
SUID = CATALOG.get("lnx_suid_files")
ROGUE = {"suid_files": ["/usr/local/bin/rootsh"]}


class _Broken(Condition):
    """A stand-in for a bug in matching code: it raises what no condition may raise."""

    def holds(self, scope: Mapping[str, Any], thresholds: Mapping[str, Any]) -> bool:
        raise ZeroDivisionError("a bug in the matcher")

    def facts_used(self) -> set[str]:
        return {"facts"}


def rule_for(check_id: str, runbook: str, rule_id: str, condition: Condition | None) -> Rule:
    return Rule(
        id=rule_id,
        description="a test rule",
        checks=frozenset({check_id}),
        condition=condition,
        runbook=runbook,
        priority=100,
        cooldown=timedelta(hours=1),
        max_retries=3,
        source="test",
    )


def usb_rule(rule_id: str, condition: Condition | None = None) -> Rule:
    return rule_for(USB.id, "linux_usb_storage", rule_id, condition)


def snapshot_of(
    db: sqlite_utils.Database,
    incidents: Sequence[Incident],
    rules: Sequence[Rule] = (),
    config: HealConfig | None = None,
    l2: L2Config | None = None,
) -> Snapshot:
    return load_snapshot(
        db,
        incidents,
        hosts={i.host: lab_host(i.host) for i in incidents},
        rules=rules,
        runbooks=RUNBOOKS,
        config=config or HealConfig(),
        l2=l2,
        now=NOW,
        drift_of=lambda i: drift_of(
            CATALOG.get(i.check_id), i.status, i.facts, CATALOG.get(i.check_id).default_thresholds()
        ),
    )


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {t: db[t].count for t in db.table_names()}


def test_a_bug_in_a_rules_matching_surfaces_and_names_the_rule(tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    snapshot = snapshot_of(db, [incident], [usb_rule("broken", _Broken())])
    with pytest.raises(ZeroDivisionError) as raised:
        decide(snapshot, incident, {}, 0)
    assert "rule broken (test)" in "\n".join(raised.value.__notes__)


def test_a_rule_reading_a_fact_the_incident_lacks_does_not_match(tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    missing = Compare(("facts", "no_such_fact"), "eq", True)
    mistyped = Compare(("facts", "loaded"), "gt", 3)  # a bool is no number
    rules = (usb_rule("missing", missing), usb_rule("mistyped", mistyped))
    step = decide(snapshot_of(db, [incident], rules), incident, {}, 0)
    assert (step.kind, step.rule) == (IntentKind.ESCALATE, None)
    matching = usb_rule("plain")
    step = decide(snapshot_of(db, [incident], (*rules, matching)), incident, {}, 0)
    assert (step.kind, step.rule) == (IntentKind.HEAL, matching)


def test_a_disruptive_runbook_is_planned_as_would_request_approval(tmp_path) -> None:
    """Planning requests nothing; a real heal's record stage does, once."""
    db = new_db(tmp_path)
    incident = open_incident(db, SUID, ROGUE)
    rules = [rule_for(SUID.id, "linux_suid_remove", "suid", None)]
    before = counts(db)
    (intent,) = plan(snapshot_of(db, [incident], rules)).intents
    assert (intent.kind, intent.rail, intent.approval_id) == (
        IntentKind.APPROVAL,
        Rail.APPROVAL,
        None,
    )
    assert intent.reason == "runbook linux_suid_remove is disruptive: would request approval"
    assert counts(db) == before
    recorded, _ = apply.record(db, plan(snapshot_of(db, [incident], rules)), **_recording())
    (pending,) = approvals.list_approvals(db)
    assert recorded.intents[0].approval_id == pending.id
    assert f"approval {pending.id} is pending" in recorded.intents[0].reason
    (again,) = plan(snapshot_of(db, [incident], rules)).intents
    assert again.approval_id == pending.id  # the snapshot holds the request now


def test_every_fix_is_planned_and_the_circuit_breaker_names_itself(tmp_path) -> None:
    """Two drifts on one host, a breaker of one action: one heal, and the other fix is
    still planned with its runbook, held by the breaker."""
    db = new_db(tmp_path)
    incidents = [open_incident(db, USB, USB_OPEN), open_incident(db, SUID, ROGUE)]
    rules = [
        rule_for(USB.id, "linux_usb_storage", "usb", None),
        rule_for(SUID.id, "linux_suid_remove", "suid", None),
    ]
    # SUID's runbook is disruptive: approved, so that only the breaker holds it
    request = approvals.request(db, incidents[1], "linux_suid_remove", NOW)
    approvals.decide(db, request.id, True, "Dr. Who", NOW)
    intents = plan(snapshot_of(db, incidents, rules, HealConfig(breaker_actions=1))).intents
    assert [(i.kind, i.rail) for i in intents] == [
        (IntentKind.HEAL, None),
        (IntentKind.DEFERRED, Rail.CIRCUIT_BREAKER),
    ]
    runbooks = [i.runbook and i.runbook.id for i in intents]
    assert runbooks == ["linux_usb_storage", "linux_suid_remove"]
    assert intents[1].reason.startswith("circuit breaker: 1 actions on h1")
    assert intents[1].approval_id == request.id


def test_without_a_cached_answer_l2_is_planned_as_ask_and_nothing_is_asked(tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    # the stand-in is not even running: planning must not try to reach it
    l2 = L2Config(base_url="http://127.0.0.1:9", max_retries=0)
    before = counts(db)
    (intent,) = plan(snapshot_of(db, [incident], l2=l2)).intents
    assert (intent.kind, intent.runbook) == (IntentKind.ASK_L2, None)
    assert intent.reason == "no L1 rule matches: would ask L2 to choose from linux_usb_storage"
    assert counts(db) == before


def test_a_cached_answer_is_used_in_planning_and_logged_only_when_recorded(tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    drift = drift_of(USB, incident.status, incident.facts, USB.default_thresholds())
    earlier = l2_log.CallRecord(
        at=NOW - timedelta(hours=1),
        incident_id=None,
        host="h0",
        check_id=USB.id,
        signature=drift.signature,
        model="claude",
        verdict=L2Verdict.CHOSEN,
        reason="L2 chose linux_usb_storage",
        decision="linux_usb_storage",
        confidence=0.9,
        reasoning="an install rule blocks the module",
    )
    call = l2_log.record(db, earlier)
    l2 = L2Config(base_url="http://127.0.0.1:9", max_retries=0)
    before = counts(db)
    (intent,) = plan(snapshot_of(db, [incident], l2=l2)).intents
    assert (intent.kind, intent.tier, intent.runbook and intent.runbook.id) == (
        IntentKind.HEAL,
        Tier.L2,
        "linux_usb_storage",
    )
    assert intent.reason.endswith(f"[answer of L2 call {call}, cached]")
    assert (intent.l2_call, intent.l2_cached and intent.l2_cached.id) == (None, call)
    assert counts(db) == before


def test_the_incidents_a_dry_run_derives_are_those_a_real_heal_writes(tmp_path) -> None:
    """Opened, bumped and resolved alike; and a recurring drift counts as a flap in both."""
    db = new_db(tmp_path)
    kept = open_incident(db, USB, USB_OPEN)  # bumped by the scan below
    gone = open_incident(db, SUID, ROGUE)  # resolved by it
    back = open_incident(db, USB, USB_OPEN, "h2")  # fixed before: comes back below
    set_state(db, back.id, "resolved", "fixed", NOW)
    disk = CATALOG.get("lnx_disk_space")
    results = [
        CheckResult("h1", USB.id, Status.FAIL, "usb storage can be loaded", dict(USB_OPEN)),
        CheckResult("h1", SUID.id, Status.PASS, "no unexpected set-user-ID files", {}),
        CheckResult("h2", USB.id, Status.FAIL, "usb storage can be loaded", dict(USB_OPEN)),
        CheckResult("h1", disk.id, Status.ERROR, "df failed", None),
    ]
    outcomes = [HostOutcome(lab_host("h1"), tuple(results))]
    live = live_incidents(db)
    derived = incidents_after(live, incident_changes(live, outcomes), NOW)
    config = HealConfig(flap_recurrences=2)
    dry = plan(snapshot_of(db, derived, config=config)).intents
    run_id = start_run(db, engine="direct", inventory=[], host_count=1, check_count=3)
    sync_incidents(db, run_id, outcomes, NOW)
    written = live_incidents(db)

    def shape(incidents: Sequence[Incident]) -> list[tuple[Any, ...]]:
        return [
            (i.host, i.check_id, i.state, i.status, i.reason, i.facts, i.occurrences, i.attempts)
            for i in incidents
        ]

    assert shape(derived) == shape(written)
    assert [i.id for i in derived] == [kept.id, -1, -2]  # would-be ones have no id yet
    assert gone.id not in {i.id for i in written}
    real = plan(snapshot_of(db, written, config=config)).intents
    assert [(i.kind, i.reason) for i in dry] == [(i.kind, i.reason) for i in real]
    assert dry[1].reason.startswith("flapping")  # h2's usb drift came back


def _recording() -> dict[str, Any]:
    return {"l2": None, "escalation": EscalationConfig(), "catalog": CATALOG, "now": NOW}
