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
from osiris.config import HealConfig
from osiris.errors import OsirisError
from osiris.evidence.keys import SiteSigner
from osiris.heal import approvals, guard
from osiris.heal.exceptions import list_exceptions
from osiris.heal.executor import passed, reachable, run_runbook, verify
from osiris.heal.plan import Plan, PlanContext, Step, StepKind, make_plan
from osiris.heal.rules import Rule
from osiris.heal.runbooks import RunbookRegistry
from osiris.heal.store import (
    Action,
    finish_action,
    journal_action,
    live_incidents,
    mark_running,
    set_state,
    sync_incidents,
    unfinished_actions,
)
from osiris.model import Host, Platform
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
        )
        plan = make_plan(db, live_incidents(db), context)
        report = HealReport(run.run_id, plan, reconciled=reconciled)
        _record_decisions(db, plan, now, dry_run)
        if dry_run:
            report.actions = [_dry_run(step, inputs) for step in plan.of(StepKind.HEAL)]
            return report
        if plan.of(StepKind.HEAL) and not confirm(plan):
            report.confirmed = False
            return report
        report.actions = [_act(db, step, inputs) for step in plan.of(StepKind.HEAL)]
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
    outcome = run_runbook(step.runbook, host, inputs.settings.transport, check_mode=True)
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
        db, incident, runbook.id, step.rule.id if step.rule else None, "l1", now
    )
    if step.approval_id is not None:
        approvals.mark_used(db, step.approval_id)
    mark_running(db, action_id)
    options = inputs.settings.transport
    armed = None
    if runbook.risks_lockout and host.platform is Platform.LINUX:
        # the switch must outlast the runbook itself, then give osiris time to come back
        seconds = runbook.spec.timeout + inputs.config.guard_seconds
        armed = guard.arm(host, options, action_id, seconds)
    outcome = run_runbook(runbook, host, options)
    detail = outcome.detail
    if runbook.risks_lockout:
        lockout = _lockout_check(db, action_id, step, host, inputs, armed, detail)
        if lockout is not None:
            return lockout
    check = inputs.catalog.get(incident.check_id)
    result = verify(host, check, inputs.thresholds_for(check), inputs.settings)
    state = "succeeded" if outcome.ok and passed(result) else "failed"
    finish_action(db, action_id, state, result.status.value, detail, datetime.now(UTC))
    set_state(
        db,
        incident.id,
        "resolved" if state == "succeeded" else "failed",
        f"{runbook.id}: check is {result.status} after the runbook ({result.reason})",
        datetime.now(UTC),
    )
    return ActionReport(
        incident.id, host.name, check.id, runbook.id, state, detail, result.status.value
    )


def _lockout_check(
    db: sqlite_utils.Database,
    action_id: int,
    step: Step,
    host: Host,
    inputs: HealInputs,
    armed: guard.Guard | None,
    detail: str,
) -> ActionReport | None:
    """After a change that could cut osiris off: None when osiris still reaches the host
    (the guard is disarmed), else the action's end, rolled back or escalated."""
    options = inputs.settings.transport
    lost = reachable(host, options)
    if lost is None:
        if armed is None or guard.disarm(host, options, armed) == "disarmed":
            return None
        lost = "osiris came back only after the guard had fired"
        return _end_lockout(db, action_id, step, host, "rolled_back", lost, detail)
    if armed is None:
        return _end_lockout(db, action_id, step, host, "failed", lost, detail)
    time.sleep(max(0.0, armed.fires_at - time.monotonic()) + 5)  # let the host put itself back
    state = "rolled_back" if reachable(host, options) is None else "failed"
    return _end_lockout(db, action_id, step, host, state, lost, detail)


def _end_lockout(
    db: sqlite_utils.Database,
    action_id: int,
    step: Step,
    host: Host,
    state: str,
    lost: str,
    detail: str,
) -> ActionReport:
    runbook = step.runbook
    assert runbook is not None
    if state == "rolled_back":
        note = f"lost the host after {runbook.id} ({lost}); the guard restored it"
    else:
        note = f"lost the host after {runbook.id} ({lost}); still unreachable: a person must look"
    now = datetime.now(UTC)
    finish_action(db, action_id, state, None, f"{note}\n{detail}", now)
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
    if host is None:
        finish_action(
            db,
            action.id,
            "reconciled",
            None,
            "interrupted; host not in this inventory, not re-checked",
            now,
        )
        return f"action {action.id} on {action.host}: interrupted, host not re-checked"
    check = inputs.catalog.get(action.check_id)
    result = verify(host, check, inputs.thresholds_for(check), inputs.settings)
    finish_action(
        db,
        action.id,
        "reconciled",
        result.status.value,
        f"interrupted; on re-check the check is {result.status}",
        now,
    )
    set_state(
        db,
        action.incident_id,
        "resolved" if passed(result) else "failed",
        f"interrupted {action.runbook_id}; re-check says {result.status}",
        now,
    )
    return f"action {action.id} ({action.runbook_id} on {action.host}): check is {result.status}"


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
    }
