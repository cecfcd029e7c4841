"""One `osiris heal`: reconcile, scan, sync incidents, plan, confirm, act, verify.

A file lock keeps two heals off one site. Every action is journalled before it runs; an
action found unfinished (a crash, kill -9) is settled on the next heal by re-checking.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from osiris.catalog import Catalog
from osiris.config import EscalationConfig, FlywheelConfig, HealConfig
from osiris.errors import OsirisError
from osiris.evidence.keys import SiteSigner
from osiris.evidence.log import write_checkpoint
from osiris.heal import approvals, flywheel, guard
from osiris.heal.escalation import Delivery, Escalated, deliver_pending
from osiris.heal.escalation.steps import escalate_action, escalate_plan
from osiris.heal.evidence import ActionSeal
from osiris.heal.exceptions import list_exceptions
from osiris.heal.executor import RunOutcome, passed, reachable, recheck, run_runbook
from osiris.heal.l2 import log as l2_log
from osiris.heal.l2.planner import L2Planner
from osiris.heal.plan import Plan, PlanContext, Step, StepKind, make_plan
from osiris.heal.promotion import auto_demote
from osiris.heal.rules import Rule
from osiris.heal.runbooks import Runbook, RunbookRegistry
from osiris.heal.signature import Drift, drift_of
from osiris.heal.store import (
    Action,
    ActionSealer,
    Incident,
    finish_action,
    get_incident,
    journal_action,
    live_incidents,
    mark_running,
    set_state,
    sync_incidents,
    unfinished_actions,
)
from osiris.heal.variables import RunbookVars
from osiris.model import Host
from osiris.scan.interpret import ThresholdsFor
from osiris.scan.runner import ScanSettings
from osiris.scan.session import run_scan
from osiris.store.runs import process_alive


@dataclass(frozen=True)
class HealInputs:
    hosts: Sequence[Host]
    catalog: Catalog
    runbooks: RunbookRegistry
    rules: Sequence[Rule]
    thresholds_for: ThresholdsFor
    settings: ScanSettings
    config: HealConfig
    signer: SiteSigner
    flywheel: FlywheelConfig = field(default_factory=FlywheelConfig)
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    l2: L2Planner | None = None  # None: L2 is off (no API key)
    secrets_path: Path | None = None  # service secrets of L3 notices (SMTP, webhooks)
    runbook_vars: RunbookVars = field(default_factory=dict)  # osiris.heal.variables.resolve

    def variables_of(self, runbook: Runbook) -> Mapping[str, Any]:
        """What ``runbook`` runs with beyond its playbook's own values."""
        return self.runbook_vars.get(runbook.id, {})


@dataclass(frozen=True)
class ActionReport:
    incident_id: int
    host: str
    check_id: str
    runbook_id: str
    outcome: str  # succeeded, failed, rolled_back, dry_run
    detail: str
    post_status: str | None = None
    diff: str = ""


@dataclass
class HealReport:
    run_id: int
    plan: Plan
    actions: list[ActionReport] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)
    confirmed: bool = True
    demoted: list[str] = field(default_factory=list)  # promoted rules the flywheel demoted
    escalations: list[Escalated] = field(default_factory=list)  # L3, from this plan
    notices: Delivery = field(default_factory=Delivery)  # L3 notices sent at the end


Confirm = Callable[[Plan], bool]


@contextmanager
def heal_lock(home: Path) -> Iterator[None]:
    """One heal per site at a time; a second one stops with a clear error."""
    path = home / "heal.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise OsirisError(
                f"another heal is running on this site (pid {handle.read().strip()})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def heal(
    db: sqlite_utils.Database, home: Path, inputs: HealInputs, *, dry_run: bool, confirm: Confirm
) -> HealReport:
    with heal_lock(home):
        reconciled = reconcile(db, inputs)
        run = run_scan(
            db,
            inputs.hosts,
            list(inputs.catalog),
            inputs.thresholds_for,
            inputs.settings,
            signer=inputs.signer,
        )
        now = datetime.now(UTC)
        sync_incidents(db, run.run_id, run.outcomes, now)
        context = PlanContext(
            hosts={h.name: h for h in inputs.hosts},
            rules=inputs.rules,
            runbooks=inputs.runbooks,
            exceptions=list_exceptions(db, now=now),
            config=inputs.config,
            now=now,
            finding_of=lambda incident: _finding(inputs, incident),
            l2=inputs.l2,
        )
        plan = make_plan(db, live_incidents(db), context)
        report = HealReport(run.run_id, plan, reconciled=reconciled)
        _record_decisions(db, plan, now, dry_run)
        if not dry_run:
            report.escalations = escalate_plan(db, inputs.escalation, inputs.catalog, plan, now)
        if dry_run:
            report.actions = [_dry_run(step, inputs) for step in plan.of(StepKind.HEAL)]
            return report
        if plan.of(StepKind.HEAL) and not confirm(plan):
            report.confirmed = False
            report.notices = _notify(db, inputs)
            return report
        report.actions = [_act(db, step, inputs) for step in plan.of(StepKind.HEAL)]
        if report.actions:  # a signed checkpoint covers the actions' evidence too
            write_checkpoint(db, inputs.signer, run.run_id)
        report.demoted = auto_demote(db, home, inputs.flywheel, datetime.now(UTC))
        report.notices = _notify(db, inputs)
        return report


def _record_decisions(db: sqlite_utils.Database, plan: Plan, now: datetime, dry_run: bool) -> None:
    """Escalations and exceptions change the incident's state (not in a dry run)."""
    if dry_run:
        return
    for step in plan.steps:
        if step.kind is StepKind.ESCALATE and step.incident.state != "escalated":
            set_state(
                db,
                step.incident.id,
                "escalated",
                step.reason,
                now,
                suppressed=step.suppress or None,
            )
        elif step.kind is StepKind.EXCEPTED and step.incident.state != "excepted":
            set_state(db, step.incident.id, "excepted", step.reason, now)
        elif step.kind is not StepKind.EXCEPTED and step.incident.state == "excepted":
            set_state(db, step.incident.id, "open", "the exception no longer covers it", now)


def _dry_run(step: Step, inputs: HealInputs) -> ActionReport:
    assert step.runbook is not None
    host = _host(inputs, step.incident.host)
    outcome = run_runbook(
        step.runbook,
        host,
        inputs.settings.transport,
        check_mode=True,
        variables=inputs.variables_of(step.runbook),
    )
    return ActionReport(
        step.incident.id,
        host.name,
        step.incident.check_id,
        step.runbook.id,
        "dry_run",
        outcome.detail,
        diff=outcome.diff,
    )


def _act(db: sqlite_utils.Database, step: Step, inputs: HealInputs) -> ActionReport:
    incident, runbook = step.incident, step.runbook
    assert runbook is not None
    host = _host(inputs, incident.host)
    now = datetime.now(UTC)
    action_id = journal_action(
        db, incident, runbook.id, step.rule.id if step.rule else None, step.tier.value, now
    )
    if step.l2_call is not None:
        l2_log.attach_action(db, step.l2_call, action_id)  # its outcome follows the action's
    if step.approval_id is not None:
        approvals.mark_used(db, step.approval_id)
    mark_running(db, action_id)
    options = inputs.settings.transport
    armed = None
    if runbook.risks_lockout:
        # the switch must outlast the runbook itself, then give osiris time to come back
        # (Linux: armed now; Windows: armed by the runbook's prelude, in the same command)
        seconds = runbook.spec.timeout + inputs.config.guard_seconds
        armed = guard.arm(host, options, action_id, seconds)
    variables = inputs.variables_of(runbook)
    outcome = run_runbook(runbook, host, options, guard=armed, variables=variables)
    detail = outcome.detail
    if runbook.risks_lockout:
        lockout = _lockout_check(db, action_id, step, host, inputs, armed, outcome)
        if lockout is not None:
            _escalate_action(db, step, inputs, lockout, lockout_path=True)
            return lockout
    check = inputs.catalog.get(incident.check_id)
    checked = recheck(host, check, inputs.thresholds_for(check), inputs.settings)
    result = checked.result
    state = "succeeded" if outcome.ok and passed(result) else "failed"
    seal = _seal(inputs, incident, outcome.output, checked.raw_output, variables)
    finish_action(
        db,
        action_id,
        state,
        result.status.value,
        detail,
        datetime.now(UTC),
        seal=seal,
        learn=_learner(seal),
    )
    set_state(
        db,
        incident.id,
        "resolved" if state == "succeeded" else "failed",
        f"{runbook.id}: check is {result.status} after the runbook ({result.reason})",
        datetime.now(UTC),
    )
    report = ActionReport(
        incident.id, host.name, check.id, runbook.id, state, detail, result.status.value
    )
    _escalate_action(db, step, inputs, report, lockout_path=False)
    return report


def _lockout_check(
    db: sqlite_utils.Database,
    action_id: int,
    step: Step,
    host: Host,
    inputs: HealInputs,
    armed: guard.Guard | None,
    outcome: RunOutcome,
) -> ActionReport | None:
    """After a change that could cut osiris off: None when osiris still reaches the host
    (the guard is disarmed), else the action's end, rolled back or escalated."""
    options = inputs.settings.transport
    lost = reachable(host, options)
    if lost is None:
        if armed is None or guard.disarm(host, options, armed) == "disarmed":
            return None
        lost = "osiris came back only after the guard had fired"
        return _end_lockout(db, action_id, step, host, inputs, "rolled_back", lost, outcome)
    if armed is None:
        return _end_lockout(db, action_id, step, host, inputs, "failed", lost, outcome)
    time.sleep(max(0.0, armed.fires_at - time.monotonic()) + 5)  # let the host put itself back
    state = "rolled_back" if reachable(host, options) is None else "failed"
    if state == "rolled_back":
        guard.clear(host, options, armed)
    return _end_lockout(db, action_id, step, host, inputs, state, lost, outcome)


def _end_lockout(
    db: sqlite_utils.Database,
    action_id: int,
    step: Step,
    host: Host,
    inputs: HealInputs,
    state: str,
    lost: str,
    outcome: RunOutcome,
) -> ActionReport:
    runbook = step.runbook
    assert runbook is not None
    if state == "rolled_back":
        note = f"lost the host after {runbook.id} ({lost}); the guard restored it"
    else:
        note = f"lost the host after {runbook.id} ({lost}); still unreachable: a person must look"
    now = datetime.now(UTC)
    seal = _seal(inputs, step.incident, outcome.output, None, inputs.variables_of(runbook))
    detail = f"{note}\n{outcome.detail}"
    finish_action(db, action_id, state, None, detail, now, seal=seal, learn=_learner(seal))
    set_state(db, step.incident.id, "failed" if state == "rolled_back" else "escalated", note, now)
    return ActionReport(
        step.incident.id, host.name, step.incident.check_id, runbook.id, state, note
    )


def reconcile(db: sqlite_utils.Database, inputs: HealInputs) -> list[str]:
    """Settle actions a dead heal left journalled or running, by re-checking."""
    notes = []
    hosts = {h.name: h for h in inputs.hosts}
    for action in unfinished_actions(db):
        if action.pid and action.node == socket.gethostname() and process_alive(action.pid):
            continue  # still running elsewhere on this machine (the lock makes this rare)
        notes.append(_settle(db, action, hosts, inputs))
    return notes


def _settle(
    db: sqlite_utils.Database, action: Action, hosts: Mapping[str, Host], inputs: HealInputs
) -> str:
    now = datetime.now(UTC)
    host = hosts.get(action.host)
    incident = get_incident(db, action.incident_id)
    if host is None:
        seal = _seal(inputs, incident, None, None)
        finish_action(
            db,
            action.id,
            "reconciled",
            None,
            "interrupted; host not in this inventory, not re-checked",
            now,
            seal=seal,
            learn=_learner(seal),  # unverified: kept, counted in no rate
        )
        return f"action {action.id} on {action.host}: interrupted, host not re-checked"
    check = inputs.catalog.get(action.check_id)
    checked = recheck(host, check, inputs.thresholds_for(check), inputs.settings)
    result = checked.result
    seal = _seal(inputs, incident, None, checked.raw_output)
    finish_action(
        db,
        action.id,
        "reconciled",
        result.status.value,
        f"interrupted; on re-check the check is {result.status}",
        now,
        seal=seal,
        learn=_learner(seal),
    )
    set_state(
        db,
        action.incident_id,
        "resolved" if passed(result) else "failed",
        f"interrupted {action.runbook_id}; re-check says {result.status}",
        now,
    )
    return f"action {action.id} ({action.runbook_id} on {action.host}): check is {result.status}"


def _drift(inputs: HealInputs, incident: Incident) -> Drift | None:
    """The incident's drift as it was planned (status and facts before any fix); None
    for a check outside this run's catalog."""
    check = inputs.catalog.checks.get(incident.check_id)
    if check is None:
        return None
    return drift_of(check, incident.status, incident.facts, inputs.thresholds_for(check))


def _seal(
    inputs: HealInputs,
    incident: Incident | None,
    runbook_output: str | None,
    recheck_output: bytes | None,
    variables: Mapping[str, Any] | None = None,
) -> ActionSeal:
    """The evidence of an action on ``incident``: signed with the site key inside the
    transaction that finishes it (osiris.heal.evidence). ``variables``: what the runbook
    ran with (None: not known, for an action settled after a crash)."""
    drift = None if incident is None else _drift(inputs, incident)
    return ActionSeal(inputs.signer, drift, runbook_output, recheck_output, variables)


def _finding(inputs: HealInputs, incident: Incident) -> str | None:
    drift = _drift(inputs, incident)
    return None if drift is None else drift.finding


def _learner(seal: ActionSeal) -> ActionSealer | None:
    """What counts a finished action for the pattern its bundle signs (the flywheel;
    measured outcomes only), in the transaction that finishes it; None when there is no
    drift to count."""
    drift = seal.drift
    if drift is None:
        return None
    return lambda db, action_id: flywheel.count_outcome(db, action_id, drift)


def _escalate_action(
    db: sqlite_utils.Database,
    step: Step,
    inputs: HealInputs,
    action: ActionReport,
    *,
    lockout_path: bool,
) -> None:
    """Tell a person now about a host lost after a change, a change the guard rolled
    back, or a last allowed attempt that did not fix (osiris.heal.escalation.steps)."""
    note = action.detail
    if not lockout_path:
        note = f"{action.runbook_id} ran; the check is still {action.post_status}"
    escalate_action(
        db,
        inputs.escalation,
        inputs.catalog,
        step,
        action.outcome,
        note,
        lockout_path=lockout_path,
        now=datetime.now(UTC),
    )


def _notify(db: sqlite_utils.Database, inputs: HealInputs) -> Delivery:
    """Send the queued L3 notices, this heal's and any an earlier heal could not send.
    Never raises for a delivery problem (each is recorded and retried next time)."""
    return deliver_pending(
        db,
        inputs.escalation,
        datetime.now(UTC),
        site_id=inputs.signer.site_id,
        secrets_path=inputs.secrets_path,
    )


def _host(inputs: HealInputs, name: str) -> Host:
    return next(h for h in inputs.hosts if h.name == name)


def describe(step: Step) -> dict[str, Any]:
    return {
        "incident": step.incident.id,
        "host": step.incident.host,
        "check_id": step.incident.check_id,
        "status": step.incident.status.value,
        "decision": step.kind.value,
        "reason": step.reason,
        "rule": step.rule.id if step.rule else None,
        "runbook": step.runbook.id if step.runbook else None,
        "tier": step.tier.value,
        "l2_call": step.l2_call,
    }
