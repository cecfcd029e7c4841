"""Planning: a rule's matching code is trusted only as far as the condition language
says (a missing or mistyped fact is "no match"); anything else it raises is a bug."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from osiris.conditions import Compare, Condition
from osiris.config import HealConfig
from osiris.heal.plan import PlanContext, StepKind, decide
from osiris.heal.rules import Rule
from tests.unit.l2_support import CATALOG, NOW, RUNBOOKS, USB_OPEN, lab_host, new_db, open_incident

USB = CATALOG.get("lnx_usb_storage")


class _Broken(Condition):
    """A stand-in for a bug in matching code: it raises what no condition may raise."""

    def holds(self, scope: Mapping[str, Any], thresholds: Mapping[str, Any]) -> bool:
        raise ZeroDivisionError("a bug in the matcher")

    def facts_used(self) -> set[str]:
        return {"facts"}


def usb_rule(rule_id: str, condition: Condition | None) -> Rule:
    return Rule(
        id=rule_id,
        description="block usb storage",
        checks=frozenset({USB.id}),
        condition=condition,
        runbook="linux_usb_storage",
        priority=100,
        cooldown=timedelta(hours=1),
        max_retries=3,
        source="test",
    )


def context(*rules: Rule) -> PlanContext:
    return PlanContext({"h1": lab_host("h1")}, rules, RUNBOOKS, [], HealConfig(), NOW)


def test_a_bug_in_a_rules_matching_surfaces_and_names_the_rule(tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    with pytest.raises(ZeroDivisionError) as raised:
        decide(db, incident, context(usb_rule("broken", _Broken())), {}, 0)
    assert "rule broken (test)" in "\n".join(raised.value.__notes__)


def test_a_rule_reading_a_fact_the_incident_lacks_does_not_match(tmp_path) -> None:
    db = new_db(tmp_path)
    incident = open_incident(db, USB, USB_OPEN)
    missing = Compare(("facts", "no_such_fact"), "eq", True)
    mistyped = Compare(("facts", "loaded"), "gt", 3)  # a bool is no number
    rules = (usb_rule("missing", missing), usb_rule("mistyped", mistyped))
    step = decide(db, incident, context(*rules), {}, 0)
    assert (step.kind, step.rule) == (StepKind.ESCALATE, None)
    matching = usb_rule("plain", None)
    step = decide(db, incident, context(*rules, matching), {}, 0)
    assert (step.kind, step.rule) == (StepKind.HEAL, matching)
    assert replace(incident) == incident  # planning left the incident as it was
