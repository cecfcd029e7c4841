"""From live incidents to a plan: what to heal, what waits, what goes to a person.

The L1 decision for one incident, in order: flapping and suppressed -> wait for an
operator; excepted -> leave it; ``error`` -> a person (never a blind fix); a recurring
flap -> a person, suppressed; no matching rule -> a person; retries used up -> a person;
cooldown, maintenance window, circuit breaker, the per-run cap -> later; a disruptive
runbook without approval -> the approval queue; else heal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlite_utils

from osiris.config import HealConfig, MaintenanceWindow
from osiris.heal import approvals
from osiris.heal.exceptions import RiskException, covering
from osiris.heal.rules import Rule, parse_duration
from osiris.heal.runbooks import Runbook, RunbookRegistry
from osiris.heal.store import Incident, actions_since, last_action_at, recurrences
from osiris.model import Host, Status


class StepKind(StrEnum):
    HEAL = "heal"
    APPROVAL = "awaiting_approval"
    DEFERRED = "deferred"
    EXCEPTED = "excepted"
    ESCALATE = "escalate"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Step:
    incident: Incident
    kind: StepKind
    reason: str
    rule: Rule | None = None
    runbook: Runbook | None = None
    approval_id: int | None = None
    suppress: bool = False  # a flap: suppress until an operator clears it


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)

    def of(self, kind: StepKind) -> list[Step]:
        return [s for s in self.steps if s.kind is kind]


@dataclass(frozen=True)
class PlanContext:
    hosts: Mapping[str, Host]
    rules: Sequence[Rule]
    runbooks: RunbookRegistry
    exceptions: Sequence[RiskException]
    config: HealConfig
    now: datetime


def make_plan(
    db: sqlite_utils.Database, incidents: Sequence[Incident], context: PlanContext
) -> Plan:
    plan = Plan()
    per_host: Counter[str] = Counter()
    for incident in incidents:
        if incident.host not in context.hosts:
            continue  # not in this run's inventory or --limit
        step = decide(db, incident, context, per_host, len(plan.of(StepKind.HEAL)))
        if step.kind is StepKind.HEAL:
            per_host[incident.host] += 1
        plan.steps.append(step)
    return plan


def decide(
    db: sqlite_utils.Database,
    incident: Incident,
    context: PlanContext,
    planned_on_host: Mapping[str, int],
    planned_total: int,
) -> Step:
    """The L1 decision for one incident (goal: well under 1 ms)."""
    now, config = context.now, context.config
    if incident.suppressed:
        return Step(
            incident,
            StepKind.SUPPRESSED,
            f"flapping: suppressed until cleared (`osiris incidents clear {incident.id}`)",
        )
    exception = covering(list(context.exceptions), incident.host, incident.check_id, now)
    if exception is not None:
        return Step(
            incident,
            StepKind.EXCEPTED,
            f"exception {exception.id} by {exception.approver} until {exception.expires_at}",
        )
    if incident.status is Status.ERROR:
        return Step(
            incident,
            StepKind.ESCALATE,
            "the check could not decide: a person looks, nothing is changed blindly",
        )
    since = now - parse_duration(config.flap_window)
    if recurrences(db, incident.host, incident.check_id, since) >= config.flap_recurrences:
        return Step(
            incident,
            StepKind.ESCALATE,
            f"flapping: fixed and back {config.flap_recurrences} times within {config.flap_window}",
            suppress=True,
        )
    rule = _matching_rule(incident, context)
    if rule is None:
        return Step(incident, StepKind.ESCALATE, "no L1 rule matches this drift")
    runbook = context.runbooks.get(rule.runbook)
    if incident.attempts >= rule.max_retries:
        return Step(
            incident,
            StepKind.ESCALATE,
            f"{incident.attempts} attempts without a fix (rule {rule.id} allows"
            f" {rule.max_retries})",
            rule,
            runbook,
        )
    last = last_action_at(db, incident.host, incident.check_id)
    if last is not None and last + rule.cooldown > now:
        return Step(
            incident,
            StepKind.DEFERRED,
            f"cooldown of rule {rule.id} until {(last + rule.cooldown).isoformat()}",
            rule,
            runbook,
        )
    approval_id = None
    if runbook.needs_approval:
        request = approvals.request(db, incident, runbook.id, now)
        if request.state != "approved":
            return Step(
                incident,
                StepKind.APPROVAL,
                f"runbook {runbook.id} is disruptive: approval {request.id} is pending"
                f" (`osiris approvals approve {request.id}`)",
                rule,
                runbook,
                request.id,
            )
        approval_id = request.id
    deferral = _rails(db, incident, context, planned_on_host, planned_total)
    if deferral:
        return Step(incident, StepKind.DEFERRED, deferral, rule, runbook, approval_id)
    return Step(
        incident, StepKind.HEAL, f"rule {rule.id}: {rule.description}", rule, runbook, approval_id
    )


def _matching_rule(incident: Incident, context: PlanContext) -> Rule | None:
    host = context.hosts[incident.host]
    scope: dict[str, Any] = {
        "status": incident.status.value,
        "occurrences": incident.occurrences,
        "attempts": incident.attempts,
        "host": incident.host,
        "role": host.role.value,
        "platform": host.platform.value,
        "facts": incident.facts or {},
    }
    for rule in context.rules:  # highest priority first
        if incident.check_id in rule.checks and _holds(rule, scope):
            return rule
    return None


def _holds(rule: Rule, scope: Mapping[str, Any]) -> bool:
    try:
        return rule.matches(scope)
    except Exception:  # a fact the rule reads is missing: the rule does not match
        return False


def _rails(
    db: sqlite_utils.Database,
    incident: Incident,
    context: PlanContext,
    planned_on_host: Mapping[str, int],
    planned_total: int,
) -> str | None:
    config, now = context.config, context.now
    if config.maintenance_windows and not any(
        in_window(w, now) for w in config.maintenance_windows
    ):
        return "outside every maintenance window"
    window = parse_duration(config.breaker_window)
    done = actions_since(db, incident.host, now - window) + planned_on_host.get(incident.host, 0)
    if done >= config.breaker_actions:
        return (
            f"circuit breaker: {done} actions on {incident.host} within"
            f" {config.breaker_window} (limit {config.breaker_actions})"
        )
    if planned_total >= config.max_actions_per_run:
        return f"this run already has {planned_total} actions (limit {config.max_actions_per_run})"
    return None


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def in_window(window: MaintenanceWindow, now: datetime) -> bool:
    """Is ``now`` (UTC) inside the window? A span past midnight belongs to its start day."""
    minutes = now.hour * 60 + now.minute
    start = int(window.start[:2]) * 60 + int(window.start[3:])
    end = int(window.end[:2]) * 60 + int(window.end[3:])
    today, yesterday = _DAYS[now.weekday()], _DAYS[now.weekday() - 1]
    if start <= end:
        return today in window.days and start <= minutes < end
    return (today in window.days and minutes >= start) or (
        yesterday in window.days and minutes < end
    )
