"""From a snapshot to intents: what to heal, what waits and on which rail, what goes to
a person. Pure: :func:`plan` reads only the snapshot (osiris.heal.snapshot), writes
nothing and calls nothing, as pyinfra's operations yield commands and never run them.
Requesting approvals, asking L2, recording and running are osiris.heal.apply's.

The decision for one incident, in order: flapping and suppressed -> wait for an
operator; excepted -> leave it; ``error`` -> a person (never a blind fix); a recurring
flap -> a person, suppressed; a matching L1 rule -> its runbook; no rule and L2 on -> a
cached L2 answer, the answer a real heal got in this run, or "ask L2" (over budget: a
person); no rule and L2 off -> a person. Then, whoever chose the runbook, the same
rails (``_held``, ``_proceed``): retries used up -> a person; cooldown -> later; a
disruptive runbook without approval -> approval; maintenance window, circuit breaker,
the per-run cap -> later; else heal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from osiris.conditions import FactTypeError, MissingFact
from osiris.config import L2Config, MaintenanceWindow
from osiris.heal.exceptions import covering
from osiris.heal.intent import Intent, IntentKind, Plan, Rail
from osiris.heal.l2.cache import judge_cached
from osiris.heal.l2.guardrails import offered
from osiris.heal.l2.log import LoggedCall
from osiris.heal.rules import Rule, parse_duration
from osiris.heal.runbooks import Runbook
from osiris.heal.snapshot import Snapshot
from osiris.heal.store import Incident
from osiris.model import ApprovalState, EscalationCategory, Status, Tier


def plan(snapshot: Snapshot) -> Plan:
    """One intent per live incident of a host in this run, in incident order. Heals
    planned earlier in the order count against the circuit breaker and the run's cap."""
    result = Plan()
    per_host: Counter[str] = Counter()
    for incident in snapshot.incidents:
        if incident.host not in snapshot.hosts:
            continue  # not in this run's inventory or --limit
        intent = decide(snapshot, incident, per_host, per_host.total())
        if intent.kind is IntentKind.HEAL:
            per_host[incident.host] += 1
        result.intents.append(intent)
    return result


def decide(
    snapshot: Snapshot,
    incident: Incident,
    planned_on_host: Mapping[str, int],
    planned_total: int,
) -> Intent:
    """The intent for one incident (goal: well under 1 ms)."""
    now, config = snapshot.now, snapshot.config
    if incident.suppressed:
        return Intent(
            incident,
            IntentKind.SUPPRESSED,
            f"flapping: suppressed until cleared (`osiris incidents clear {incident.id}`)",
        )
    exception = covering(list(snapshot.exceptions), incident.host, incident.check_id, now)
    if exception is not None:
        return Intent(
            incident,
            IntentKind.EXCEPTED,
            f"exception {exception.id} by {exception.approver} until {exception.expires_at}",
        )
    if incident.status is Status.ERROR:
        return Intent(
            incident,
            IntentKind.ESCALATE,
            "the check could not decide: a person looks, nothing is changed blindly",
        )
    if snapshot.recurrences.get(incident.key, 0) >= config.flap_recurrences:
        return Intent(
            incident,
            IntentKind.ESCALATE,
            f"flapping: fixed and back {config.flap_recurrences} times within {config.flap_window}",
            suppress=True,
        )
    planned = (planned_on_host, planned_total)
    rule = _matching_rule(snapshot, incident)
    if rule is not None:
        chooser = _Chooser(Tier.L1, f"rule {rule.id}", rule.max_retries, rule.cooldown, rule)
        runbook = snapshot.runbooks.get(rule.runbook)
        held = _held(snapshot, incident, chooser, runbook)
        if held is not None:
            return held
        why = f"rule {rule.id}: {rule.description}"
        return _proceed(snapshot, incident, chooser, runbook, why, planned)
    if snapshot.l2 is None:
        return Intent(incident, IntentKind.ESCALATE, "no L1 rule matches this drift")
    return _from_l2(snapshot, incident, snapshot.l2, planned)


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
    l2_cached: LoggedCall | None = None

    def intent(
        self,
        incident: Incident,
        kind: IntentKind,
        reason: str,
        runbook: Runbook | None = None,
        *,
        rail: Rail | None = None,
        approval_id: int | None = None,
        category: EscalationCategory | None = None,
    ) -> Intent:
        return Intent(
            incident,
            kind,
            reason,
            self.rule,
            runbook,
            rail,
            approval_id,
            category=category,
            tier=self.tier,
            l2_call=self.l2_call,
            l2_cached=self.l2_cached,
        )


def _from_l2(
    snapshot: Snapshot, incident: Incident, l2: L2Config, planned: tuple[Mapping[str, int], int]
) -> Intent:
    """No rule matches: L2's answer (got in this run, or cached), else "ask L2", then the
    same rails as for a rule. Retries and cooldown come first: they need no answer, and
    asking costs money."""
    chooser = _Chooser(Tier.L2, "L2", l2.max_attempts, parse_duration(l2.cooldown))
    held = _held(snapshot, incident, chooser, None)
    if held is not None:
        return held
    choice = snapshot.l2_choices.get(incident.id)
    if choice is not None:  # asked in this run (osiris.heal.apply); its row is logged
        chooser = replace(chooser, l2_call=choice.call_id)
        if choice.runbook is None:
            declined = EscalationCategory.L2_DECLINED
            category = EscalationCategory.NO_RULE if choice.nothing_offered else declined
            return chooser.intent(incident, IntentKind.ESCALATE, choice.reason, category=category)
        return _proceed(snapshot, incident, chooser, choice.runbook, choice.reason, planned)
    host = snapshot.hosts[incident.host]
    runbooks = offered(snapshot.runbooks, incident.check_id, host.platform)
    if not runbooks:
        reason = f"no L1 rule matches and no runbook fixes {incident.check_id}"
        category = EscalationCategory.NO_RULE
        return chooser.intent(incident, IntentKind.ESCALATE, reason, category=category)
    drift = snapshot.drifts.get(incident.id)
    cached = None if drift is None else snapshot.l2_cached.get(drift.signature)
    if cached is None:
        if snapshot.l2_refusal is not None:
            reason = f"L2 budget spent: {snapshot.l2_refusal}; a person looks"
            category = EscalationCategory.L2_DECLINED
            return chooser.intent(incident, IntentKind.ESCALATE, reason, category=category)
        return chooser.intent(
            incident,
            IntentKind.ASK_L2,
            f"no L1 rule matches: would ask L2 to choose from {', '.join(r.id for r in runbooks)}",
        )
    judgement = judge_cached(cached, [r.id for r in runbooks], l2.min_confidence)
    chooser = replace(chooser, l2_cached=cached)
    runbook = next((r for r in runbooks if r.id == judgement.runbook_id), None)
    if runbook is None:
        category = EscalationCategory.L2_DECLINED
        return chooser.intent(incident, IntentKind.ESCALATE, judgement.reason, category=category)
    return _proceed(snapshot, incident, chooser, runbook, judgement.reason, planned)


def _held(
    snapshot: Snapshot, incident: Incident, chooser: _Chooser, runbook: Runbook | None
) -> Intent | None:
    """Retries used up -> a person; within the cooldown -> later; else None."""
    if incident.attempts >= chooser.max_retries:
        return chooser.intent(
            incident,
            IntentKind.ESCALATE,
            f"{incident.attempts} attempts without a fix ({chooser.name} allows"
            f" {chooser.max_retries})",
            runbook,
            rail=Rail.RETRIES,
            category=EscalationCategory.RETRIES_EXHAUSTED,
        )
    last = snapshot.last_actions.get(incident.key)
    if last is not None and last + chooser.cooldown > snapshot.now:
        return chooser.intent(
            incident,
            IntentKind.DEFERRED,
            f"cooldown of {chooser.name} until {(last + chooser.cooldown).isoformat()}",
            runbook,
            rail=Rail.COOLDOWN,
        )
    return None


def _proceed(
    snapshot: Snapshot,
    incident: Incident,
    chooser: _Chooser,
    runbook: Runbook,
    why: str,
    planned: tuple[Mapping[str, int], int],
) -> Intent:
    """A runbook is chosen: approval for a disruptive one, then the rails, then heal."""
    approval_id = None
    if runbook.needs_approval:
        request = snapshot.approvals.get((incident.id, runbook.id))
        if request is None or request.state != ApprovalState.APPROVED:
            pending = None if request is None else request.id
            reason = approval_reason(runbook.id, pending)
            return chooser.intent(
                incident,
                IntentKind.APPROVAL,
                reason,
                runbook,
                rail=Rail.APPROVAL,
                approval_id=pending,
            )
        approval_id = request.id
    held = _rails(snapshot, incident, *planned)
    if held is not None:
        rail, reason = held
        return chooser.intent(
            incident, IntentKind.DEFERRED, reason, runbook, rail=rail, approval_id=approval_id
        )
    return chooser.intent(incident, IntentKind.HEAL, why, runbook, approval_id=approval_id)


def approval_reason(runbook_id: str, approval_id: int | None) -> str:
    """Why a disruptive runbook waits: its pending request, or one a real heal requests."""
    if approval_id is None:
        return f"runbook {runbook_id} is disruptive: would request approval"
    return (
        f"runbook {runbook_id} is disruptive: approval {approval_id} is pending"
        f" (`osiris approvals approve {approval_id}`)"
    )


def _matching_rule(snapshot: Snapshot, incident: Incident) -> Rule | None:
    host = snapshot.hosts[incident.host]
    drift = snapshot.drifts.get(incident.id)
    scope: dict[str, Any] = {
        "status": incident.status.value,
        "occurrences": incident.occurrences,
        "attempts": incident.attempts,
        "host": incident.host,
        "role": host.role.value,
        "platform": host.platform.value,
        "finding": None if drift is None else drift.finding,
        "facts": incident.facts or {},
    }
    for rule in snapshot.rules:  # highest priority first
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
    snapshot: Snapshot,
    incident: Incident,
    planned_on_host: Mapping[str, int],
    planned_total: int,
) -> tuple[Rail, str] | None:
    config, now = snapshot.config, snapshot.now
    if config.maintenance_windows and not any(
        in_window(w, now) for w in config.maintenance_windows
    ):
        return Rail.MAINTENANCE_WINDOW, "outside every maintenance window"
    done = snapshot.recent_actions.get(incident.host, 0) + planned_on_host.get(incident.host, 0)
    if done >= config.breaker_actions:
        return Rail.CIRCUIT_BREAKER, (
            f"circuit breaker: {done} actions on {incident.host} within"
            f" {config.breaker_window} (limit {config.breaker_actions})"
        )
    if planned_total >= config.max_actions_per_run:
        return Rail.RUN_CAP, (
            f"this run already has {planned_total} actions (limit {config.max_actions_per_run})"
        )
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
