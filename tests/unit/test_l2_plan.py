"""An L2 choice in the plan: the same rails as an L1 choice (approval, windows, cap,
retries, cooldown), tier l2 on the step, and the call log's action and outcome. The
real SDK talks to the local Anthropic API stand-in (tests/stubs/anthropic_api.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta

import pytest

from osiris.catalog import default_catalog_dir
from osiris.config import HealConfig, MaintenanceWindow
from osiris.heal import approvals
from osiris.heal.l2 import log as l2_log
from osiris.heal.plan import PlanContext, StepKind, decide
from osiris.heal.rules import load_rules, rule_files
from osiris.heal.store import finish_action, journal_action
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


def context(stub: AnthropicStub, heal: HealConfig | None = None, rules=(), **l2) -> PlanContext:
    return PlanContext(
        hosts={"h1": lab_host("h1")},
        rules=rules,
        runbooks=RUNBOOKS,
        exceptions=[],
        config=heal or HealConfig(),
        now=NOW,
        l2=planner(stub, **l2),
    )


def test_a_disruptive_choice_waits_for_approval_and_is_not_asked_again(stub, tmp_path):
    db = new_db(tmp_path)
    incident = open_incident(db, SUID, ROGUE)
    stub.push(tool_answer("linux_suid_remove", 0.9))
    waiting = decide(db, incident, context(stub), {}, 0)
    assert (waiting.kind, waiting.tier) == (StepKind.APPROVAL, Tier.L2)
    assert waiting.runbook is not None and waiting.runbook.id == "linux_suid_remove"
    (pending,) = approvals.list_approvals(db)
    assert (pending.runbook_id, pending.id) == ("linux_suid_remove", waiting.approval_id)
    approvals.decide(db, pending.id, True, "Dr. Who", NOW)
    approved = decide(db, incident, context(stub), {}, 0)
    assert (approved.kind, approved.approval_id) == (StepKind.HEAL, pending.id)
    assert len(stub.requests) == 1  # the cached answer
    assert approved.l2_call == calls(db)[1]["id"] and calls(db)[1]["cached_from"] == 1


def test_an_l2_choice_meets_the_maintenance_window_and_the_run_cap(stub, tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    stub.push(tool_answer("linux_usb_storage", 0.9))
    closed = HealConfig(maintenance_windows=(MaintenanceWindow(start="22:00", end="23:00"),))
    step = decide(db, incident, context(stub, closed), {}, 0)
    assert (step.kind, step.reason) == (StepKind.DEFERRED, "outside every maintenance window")
    assert step.runbook is not None and step.tier is Tier.L2
    capped = decide(db, incident, context(stub, HealConfig(max_actions_per_run=3)), {}, 3)
    assert capped.kind is StepKind.DEFERRED and "already has 3 actions" in capped.reason
    healed = decide(db, incident, context(stub), {}, 0)
    assert (healed.kind, healed.tier) == (StepKind.HEAL, Tier.L2)
    assert healed.reason.startswith("L2 chose linux_usb_storage")


def test_retries_and_cooldown_hold_before_anything_is_asked(stub, tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    journal_action(db, incident, "linux_usb_storage", None, "l2", NOW - timedelta(minutes=10))
    cooling = decide(db, incident, context(stub), {}, 0)
    assert cooling.kind is StepKind.DEFERRED and cooling.reason.startswith("cooldown of L2 until")
    for _ in range(2):
        journal_action(db, incident, "linux_usb_storage", None, "l2", NOW - timedelta(hours=2))
    incident = open_incident(db, USB, USB_OPEN)  # the next scan: 3 attempts now
    spent = decide(db, incident, context(stub, cooldown="1s"), {}, 0)
    assert spent.kind is StepKind.ESCALATE
    assert spent.reason == "3 attempts without a fix (L2 allows 3)"
    assert spent.category is EscalationCategory.RETRIES_EXHAUSTED
    assert stub.requests == []


def test_a_declined_answer_escalates_as_l2_declined(stub, tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    stub.push(tool_answer("escalate", 0.9, "a kiosk may need USB"))
    step = decide(db, incident, context(stub), {}, 0)
    assert (step.kind, step.category, step.tier) == (
        StepKind.ESCALATE,
        EscalationCategory.L2_DECLINED,
        Tier.L2,
    )
    assert step.reason == "L2 escalates: a kiosk may need USB" and step.l2_call == 1


def test_an_l1_rule_wins_and_without_l2_no_rule_goes_to_a_person(stub, tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    builtin = load_rules(rule_files(default_catalog_dir(), None), CATALOG, RUNBOOKS)
    step = decide(db, incident, context(stub, rules=builtin), {}, 0)
    assert (step.kind, step.tier, step.rule and step.rule.id) == (
        StepKind.HEAL,
        Tier.L1,
        "linux_usb_storage",
    )
    off = PlanContext({"h1": lab_host("h1")}, (), RUNBOOKS, [], HealConfig(), NOW)
    step = decide(db, incident, off, {}, 0)
    assert (step.kind, step.reason) == (StepKind.ESCALATE, "no L1 rule matches this drift")
    assert stub.requests == []


def test_the_action_and_its_outcome_are_filled_in_once(stub, tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    stub.push(tool_answer("linux_usb_storage", 0.9))
    step = decide(db, incident, context(stub), {}, 0)
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
    step = decide(db, open_incident(db, disk, facts), context(stub), {}, 0)
    assert (step.kind, step.category) == (StepKind.ESCALATE, EscalationCategory.NO_RULE)
    assert step.reason == "no L1 rule matches and no runbook fixes lnx_disk_space"
    assert stub.requests == []
