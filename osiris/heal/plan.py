"""From live incidents to a plan: what to heal, what waits, what goes to a person.

The L1 decision for one incident, in order: flapping and suppressed -> wait for an
operator; excepted -> leave it; ``error`` -> a person (never a blind fix); a recurring
flap -> a person, suppressed; no matching rule -> the L2 planner when it is on (its
answer or a person), else a person; retries used up -> a person; cooldown, maintenance
window, circuit breaker, the per-run cap -> later; a disruptive runbook without approval
-> the approval queue; else heal. The steps after a runbook is chosen are the same
whether a rule or L2 chose it (``_held``, ``_proceed``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlite_utils

from osiris.conditions import FactTypeError, MissingFact
from osiris.config import HealConfig, MaintenanceWindow
from osiris.heal import approvals
from osiris.heal.exceptions import RiskException, covering
from osiris.heal.rules import Rule, parse_duration
from osiris.heal.runbooks import Runbook, RunbookRegistry
from osiris.heal.store import Incident, actions_since, last_action_at, recurrences
from osiris.model import EscalationCategory, Host, Status, Tier

if TYPE_CHECKING:
    from osiris.heal.l2.planner import L2Planner


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
    # why a person must look (ESCALATE): None lets L3 infer it from the step
    # (osiris.heal.escalation.steps); set it where that would be wrong (L2 declined)
    category: EscalationCategory | None = None
    tier: Tier = Tier.L1  # who chose: an L1 rule, or the L2 planner (l2_call is its log row)
    l2_call: int | None = None


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
    # the incident's finding (see osiris.heal.signature) for rules that match on it
    finding_of: Callable[[Incident], str | None] | None = None
    l2: L2Planner | None = None  # None: L2 is off, drift without a rule goes to a person


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
    """The decision for one incident (goal: well under 1 ms when no L2 call is made)."""
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
    if rule is not None:
        chooser = _Chooser(Tier.L1, f"rule {rule.id}", rule.max_retries, rule.cooldown, rule)
        runbook = context.runbooks.get(rule.runbook)
        held = _held(db, incident, chooser, now, runbook)
        if held is not None:
            return held
        why = f"rule {rule.id}: {rule.description}"
        return _proceed(
            db, incident, context, chooser, runbook, why, planned_on_host, planned_total
        )
    if context.l2 is None:
        return Step(incident, StepKind.ESCALATE, "no L1 rule matches this drift")
    return _ask_l2(db, incident, context, context.l2, planned_on_host, planned_total)


@dataclass(frozen=True)
class _Chooser:
    """Who chose the runbook, and the retries and cooldown its choices get: the rule's
    for L1, the l2 config's for L2. Everything after the choice is the same for both."""

    tier: Tier
    name: str  # "rule <id>" or "L2"
    max_retries: int
    cooldown: timedelta
    rule: Rule | None = None
    l2_call: int | None = None

    def step(
        self,
        incident: Incident,
        kind: StepKind,
        reason: str,
        runbook: Runbook | None = None,
        approval_id: int | None = None,
        category: EscalationCategory | None = None,
    ) -> Step:
        return Step(
            incident,
            kind,
            reason,
            self.rule,
            runbook,
            approval_id,
            category=category,
            tier=self.tier,
            l2_call=self.l2_call,
        )


def _ask_l2(
    db: sqlite_utils.Database,
    incident: Incident,
    context: PlanContext,
    l2: L2Planner,
    planned_on_host: Mapping[str, int],
    planned_total: int,
) -> Step:
    """No rule matches: the L2 planner chooses, then the same rails as for a rule. Retries
    and cooldown are checked first: they need no answer, and asking costs money."""
    chooser = _Chooser(Tier.L2, "L2", l2.max_attempts, l2.cooldown)
    held = _held(db, incident, chooser, context.now, None)
    if held is not None:
        return held
    choice = l2.choose(db, incident, context.hosts[incident.host], context.now)
    chooser = replace(chooser, l2_call=choice.call_id)
    if choice.runbook is None:
        declined = EscalationCategory.L2_DECLINED
        category = EscalationCategory.NO_RULE if choice.nothing_offered else declined
        return chooser.step(incident, StepKind.ESCALATE, choice.reason, category=category)
    why = choice.reason
    return _proceed(
        db, incident, context, chooser, choice.runbook, why, planned_on_host, planned_total
    )


def _held(
    db: sqlite_utils.Database,
    incident: Incident,
    chooser: _Chooser,
    now: datetime,
    runbook: Runbook | None,
) -> Step | None:
    """Retries used up -> a person; within the cooldown -> later; else None."""
    if incident.attempts >= chooser.max_retries:
        return chooser.step(
            incident,
            StepKind.ESCALATE,
            f"{incident.attempts} attempts without a fix ({chooser.name} allows"
            f" {chooser.max_retries})",
            runbook,
            category=EscalationCategory.RETRIES_EXHAUSTED,
        )
    last = last_action_at(db, incident.host, incident.check_id)
    if last is not None and last + chooser.cooldown > now:
        return chooser.step(
            incident,
            StepKind.DEFERRED,
            f"cooldown of {chooser.name} until {(last + chooser.cooldown).isoformat()}",
            runbook,
        )
    return None


def _proceed(
    db: sqlite_utils.Database,
    incident: Incident,
    context: PlanContext,
    chooser: _Chooser,
    runbook: Runbook,
    why: str,
    planned_on_host: Mapping[str, int],
    planned_total: int,
) -> Step:
    """A runbook is chosen: approval for a disruptive one, then the rails, then heal."""
    approval_id = None
    if runbook.needs_approval:
        request = approvals.request(db, incident, runbook.id, context.now)
        if request.state != "approved":
            return chooser.step(
                incident,
                StepKind.APPROVAL,
                f"runbook {runbook.id} is disruptive: approval {request.id} is pending"
                f" (`osiris approvals approve {request.id}`)",
                runbook,
                request.id,
            )
        approval_id = request.id
    deferral = _rails(db, incident, context, planned_on_host, planned_total)
    if deferral:
        return chooser.step(incident, StepKind.DEFERRED, deferral, runbook, approval_id)
    return chooser.step(incident, StepKind.HEAL, why, runbook, approval_id)


def _matching_rule(incident: Incident, context: PlanContext) -> Rule | None:
    host = context.hosts[incident.host]
    scope: dict[str, Any] = {
        "status": incident.status.value,
        "occurrences": incident.occurrences,
        "attempts": incident.attempts,
        "host": incident.host,
        "role": host.role.value,
        "platform": host.platform.value,
        "finding": context.finding_of(incident) if context.finding_of else None,
        "facts": incident.facts or {},
    }
    for rule in context.rules:  # highest priority first
        if incident.check_id in rule.checks and _holds(rule, scope):
            return rule
    return None


def _holds(rule: Rule, scope: Mapping[str, Any]) -> bool:
    """A fact the rule reads is missing or of another type: no match. Anything else the
    matching raises is a bug, and surfaces naming the rule."""
    try:
        return rule.matches(scope)
    except (MissingFact, FactTypeError):
        return False
    except Exception as exc:
        exc.add_note(f"while matching rule {rule.id} ({rule.source})")
        raise


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
