"""An L2 choice in the plan: the same rails as an L1 choice (approval, windows, cap,
retries, cooldown), tier l2 on the intent, and the call log's action and outcome. The
real SDK talks to the local Anthropic API stand-in (tests/stubs/anthropic_api.py).

Planning is pure: drift without a rule and without a cached answer is planned as
"ask L2"; a real heal then asks (osiris.heal.apply.ask_l2), plans again with the answer
and records what the plan decided (osiris.heal.apply.record). :func:`decided` does the
three, as osiris.heal.session does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
import sqlite_utils

from osiris.catalog import default_catalog_dir
from osiris.config import EscalationConfig, HealConfig, MaintenanceWindow
from osiris.heal import apply, approvals
from osiris.heal.intent import Intent, IntentKind
from osiris.heal.l2 import log as l2_log
from osiris.heal.l2.planner import L2Planner
from osiris.heal.plan import plan
from osiris.heal.rules import Rule, load_rules, rule_files
from osiris.heal.signature import drift_of
from osiris.heal.snapshot import Snapshot, load_snapshot
from osiris.heal.store import Incident, finish_action, journal_action
from osiris.model import EscalationCategory, Tier
from tests.stubs.anthropic_api import AnthropicStub, tool_answer
from tests.unit.l2_support import (
    CATALOG,
    NOW,
    RUNBOOKS,
    USB_OPEN,
    calls,
    lab_host,
    new_db,
    open_incident,
    planner,
)

SUID = CATALOG.get("lnx_suid_files")
USB = CATALOG.get("lnx_usb_storage")
ROGUE = {"suid_files": ["/usr/local/bin/rootsh"]}


@pytest.fixture
def stub() -> Iterator[AnthropicStub]:
    with AnthropicStub() as server:
        yield server


def snapshot_of(
    db: sqlite_utils.Database,
    incidents: Sequence[Incident],
    l2: L2Planner | None,
    heal: HealConfig | None = None,
    rules: Sequence[Rule] = (),
) -> Snapshot:
    return load_snapshot(
        db,
        incidents,
        hosts={i.host: lab_host(i.host) for i in incidents},
        rules=rules,
        runbooks=RUNBOOKS,
        config=heal or HealConfig(),
        l2=None if l2 is None else l2.config,
        now=NOW,
        drift_of=lambda i: drift_of(
            CATALOG.get(i.check_id), i.status, i.facts, CATALOG.get(i.check_id).default_thresholds()
        ),
    )


def decided_all(
    db: sqlite_utils.Database,
    stub: AnthropicStub,
    incidents: Sequence[Incident],
    heal: HealConfig | None = None,
    rules: Sequence[Rule] = (),
    **l2: object,
) -> list[Intent]:
    """What a real heal decides: the plan, L2 asked, the plan again, recorded."""
    l2_planner = planner(stub, **l2)
    snapshot = snapshot_of(db, incidents, l2_planner, heal, rules)
    asked = apply.ask_l2(db, plan(snapshot), snapshot, l2_planner)
    recorded, _ = apply.record(
        db, asked, l2=l2_planner, escalation=EscalationConfig(), catalog=CATALOG, now=NOW
    )
    return recorded.intents


def decided(db, stub, incident: Incident, heal=None, rules=(), **l2: object) -> Intent:
    (intent,) = decided_all(db, stub, [incident], heal, rules, **l2)
    return intent


def test_a_disruptive_choice_waits_for_approval_and_is_not_asked_again(stub, tmp_path):
    db = new_db(tmp_path)
    incident = open_incident(db, SUID, ROGUE)
    stub.push(tool_answer("linux_suid_remove", 0.9))
    waiting = decided(db, stub, incident)
    assert (waiting.kind, waiting.tier) == (IntentKind.APPROVAL, Tier.L2)
    assert waiting.runbook is not None and waiting.runbook.id == "linux_suid_remove"
    (pending,) = approvals.list_approvals(db)
    assert (pending.runbook_id, pending.id) == ("linux_suid_remove", waiting.approval_id)
    approvals.decide(db, pending.id, True, "Dr. Who", NOW)
    approved = decided(db, stub, incident)
    assert (approved.kind, approved.approval_id) == (IntentKind.HEAL, pending.id)
    assert len(stub.requests) == 1  # the cached answer
    assert approved.l2_call == calls(db)[1]["id"] and calls(db)[1]["cached_from"] == 1


def test_an_l2_choice_meets_the_maintenance_window_and_the_run_cap(stub, tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    stub.push(tool_answer("linux_usb_storage", 0.9))
    closed = HealConfig(maintenance_windows=(MaintenanceWindow(start="22:00", end="23:00"),))
    step = decided(db, stub, incident, closed)
    assert (step.kind, step.reason) == (IntentKind.DEFERRED, "outside every maintenance window")
    assert step.runbook is not None and step.tier is Tier.L2
    # two hosts with the same drift, a cap of one action per run: the second one waits
    other = open_incident(db, USB, USB_OPEN, "h2")
    first, second = decided_all(db, stub, [incident, other], HealConfig(max_actions_per_run=1))
    assert (first.kind, first.tier) == (IntentKind.HEAL, Tier.L2)
    assert first.reason.startswith("L2 chose linux_usb_storage")
    assert second.kind is IntentKind.DEFERRED and "already has 1 actions" in second.reason
    assert len(stub.requests) == 1  # one drift, one question


def test_retries_and_cooldown_hold_before_anything_is_asked(stub, tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    journal_action(db, incident, "linux_usb_storage", None, "l2", NOW - timedelta(minutes=10))
    cooling = decided(db, stub, incident)
    assert cooling.kind is IntentKind.DEFERRED and cooling.reason.startswith("cooldown of L2 until")
    for _ in range(2):
        journal_action(db, incident, "linux_usb_storage", None, "l2", NOW - timedelta(hours=2))
    incident = open_incident(db, USB, USB_OPEN)  # the next scan: 3 attempts now
    spent = decided(db, stub, incident, cooldown="1s")
    assert spent.kind is IntentKind.ESCALATE
    assert spent.reason == "3 attempts without a fix (L2 allows 3)"
    assert spent.category is EscalationCategory.RETRIES_EXHAUSTED
    assert stub.requests == []


def test_a_declined_answer_escalates_as_l2_declined(stub, tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    stub.push(tool_answer("escalate", 0.9, "a kiosk may need USB"))
    step = decided(db, stub, incident)
    assert (step.kind, step.category, step.tier) == (
        IntentKind.ESCALATE,
        EscalationCategory.L2_DECLINED,
        Tier.L2,
    )
    assert step.reason == "L2 escalates: a kiosk may need USB" and step.l2_call == 1


def test_an_l1_rule_wins_and_without_l2_no_rule_goes_to_a_person(stub, tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    builtin = load_rules(rule_files(default_catalog_dir(), None), CATALOG, RUNBOOKS)
    step = decided(db, stub, incident, rules=builtin)
    assert (step.kind, step.tier, step.rule and step.rule.id) == (
        IntentKind.HEAL,
        Tier.L1,
        "linux_usb_storage",
    )
    (step,) = plan(snapshot_of(db, [incident], None)).intents
    assert (step.kind, step.reason) == (IntentKind.ESCALATE, "no L1 rule matches this drift")
    assert stub.requests == []


def test_the_action_and_its_outcome_are_filled_in_once(stub, tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    stub.push(tool_answer("linux_usb_storage", 0.9))
    step = decided(db, stub, incident)
    assert step.l2_call is not None
    action = journal_action(db, incident, "linux_usb_storage", None, step.tier.value, NOW)
    l2_log.attach_action(db, step.l2_call, action)
    finish_action(db, action, "succeeded", "pass", "ok", NOW, seal=lambda _db, _id: None)
    (row,) = calls(db)
    assert (row["action_id"], row["outcome"]) == (action, "succeeded")
    tier = db.execute("SELECT tier FROM heal_actions WHERE id = ?", [action]).fetchone()[0]
    assert tier == "l2"
    for statement in (
        "UPDATE l2_calls SET outcome = 'failed'",
        "UPDATE l2_calls SET decision = 'linux_privileged_accounts'",
        "UPDATE l2_calls SET action_id = NULL",
        "DELETE FROM l2_calls",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(statement)
    assert calls(db) == [row]


def test_a_check_no_runbook_fixes_goes_to_a_person_as_no_rule(stub, tmp_path) -> None:
    db = new_db(tmp_path)
    disk = CATALOG.get("lnx_disk_space")
    facts = {"filesystems": [{"mount": "/", "used_percent": 99, "inodes_used_percent": 5}]}
    step = decided(db, stub, open_incident(db, disk, facts))
    assert (step.kind, step.category) == (IntentKind.ESCALATE, EscalationCategory.NO_RULE)
    assert step.reason == "no L1 rule matches and no runbook fixes lnx_disk_space"
    assert stub.requests == []
