"""One heal action: journal it, arm the lockout guard, run the runbook, re-check, seal.

The action is journalled before anything runs; its runbook runs in a private directory
named after it (:func:`runbook_dir`), so a heal that dies mid-run leaves a record the
next heal finds (osiris.heal.reconcile). Success is measured: the re-run check passes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from osiris.heal import approvals, flywheel, guard
from osiris.heal.escalation.steps import escalate_action
from osiris.heal.evidence import ActionSeal
from osiris.heal.executor import RunOutcome, passed, reachable, recheck, run_runbook
from osiris.heal.inputs import HealInputs
from osiris.heal.intent import Intent
from osiris.heal.l2 import log as l2_log
from osiris.heal.store import (
    ActionSealer,
    Incident,
    finish_action,
    journal_action,
    mark_running,
    set_state,
)
from osiris.model import ActionState, Host, IncidentState

RUNBOOKS_DIR = "runbooks"  # in the site home: one private directory per running action


def runbook_dir(home: Path, action_id: int) -> Path:
    """Where action ``action_id`` runs its playbook (removed when it ends)."""
    return home / RUNBOOKS_DIR / f"action-{action_id}"


@dataclass(frozen=True)
class ActionReport:
    incident_id: int | None  # None: an incident a dry run would open
    host: str
    check_id: str
    runbook_id: str
    outcome: str  # an ActionState's value, or dry_run
    detail: str
    post_status: str | None = None
    diff: str = ""
    held_by: str | None = None  # dry run: the rail that would hold this fix


def act(db: sqlite_utils.Database, intent: Intent, inputs: HealInputs, home: Path) -> ActionReport:
    incident, runbook = intent.incident, intent.runbook
    assert runbook is not None
    host = inputs.host(incident.host)
    now = datetime.now(UTC)
    rule_id = intent.rule.id if intent.rule else None
    action_id = journal_action(db, incident, runbook.id, rule_id, intent.tier.value, now)
    if intent.l2_call is not None:
        l2_log.attach_action(db, intent.l2_call, action_id)  # its outcome follows the action's
    if intent.approval_id is not None:
        approvals.mark_used(db, intent.approval_id)
    mark_running(db, action_id)
    options = inputs.settings.transport
    armed = None
    if runbook.risks_lockout:
        # the switch must outlast the runbook itself, then give osiris time to come back
        # (Linux: armed now; Windows: armed by the runbook's prelude, in the same command)
        seconds = runbook.spec.timeout + inputs.config.guard_seconds
        armed = guard.arm(host, options, action_id, seconds)
    variables = inputs.variables_of(runbook)
    outcome = run_runbook(
        runbook,
        host,
        options,
        guard=armed,
        variables=variables,
        workdir=runbook_dir(home, action_id),
    )
    if runbook.risks_lockout:
        lockout = _lockout_check(db, action_id, intent, host, inputs, armed, outcome)
        if lockout is not None:
            _escalate(db, intent, inputs, lockout, lockout_path=True)
            return lockout
    check = inputs.catalog.get(incident.check_id)
    checked = recheck(host, check, inputs.thresholds_for(check), inputs.settings)
    result = checked.result
    state = ActionState.SUCCEEDED if outcome.ok and passed(result) else ActionState.FAILED
    seal = seal_of(inputs, incident, outcome.output, checked.raw_output, variables)
    finish_action(
        db,
        action_id,
        state.value,
        result.status.value,
        outcome.detail,
        datetime.now(UTC),
        seal=seal,
        learn=learner(seal),
    )
    fixed = state is ActionState.SUCCEEDED
    set_state(
        db,
        incident.id,
        IncidentState.RESOLVED.value if fixed else IncidentState.FAILED.value,
        f"{runbook.id}: check is {result.status} after the runbook ({result.reason})",
        datetime.now(UTC),
    )
    report = ActionReport(
        incident.id,
        host.name,
        check.id,
        runbook.id,
        state.value,
        outcome.detail,
        result.status.value,
    )
    _escalate(db, intent, inputs, report, lockout_path=False)
    return report


def _lockout_check(
    db: sqlite_utils.Database,
    action_id: int,
    intent: Intent,
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
        return _end_lockout(db, action_id, intent, inputs, ActionState.ROLLED_BACK, lost, outcome)
    if armed is None:
        return _end_lockout(db, action_id, intent, inputs, ActionState.FAILED, lost, outcome)
    time.sleep(max(0.0, armed.fires_at - time.monotonic()) + 5)  # let the host put itself back
    back = reachable(host, options) is None
    if back:
        guard.clear(host, options, armed)
    state = ActionState.ROLLED_BACK if back else ActionState.FAILED
    return _end_lockout(db, action_id, intent, inputs, state, lost, outcome)


def _end_lockout(
    db: sqlite_utils.Database,
    action_id: int,
    intent: Intent,
    inputs: HealInputs,
    state: ActionState,
    lost: str,
    outcome: RunOutcome,
) -> ActionReport:
    runbook = intent.runbook
    assert runbook is not None
    if state is ActionState.ROLLED_BACK:
        note = f"lost the host after {runbook.id} ({lost}); the guard restored it"
        incident_state = IncidentState.FAILED
    else:
        note = f"lost the host after {runbook.id} ({lost}); still unreachable: a person must look"
        incident_state = IncidentState.ESCALATED
    now = datetime.now(UTC)
    seal = seal_of(inputs, intent.incident, outcome.output, None, inputs.variables_of(runbook))
    detail = f"{note}\n{outcome.detail}"
    finish_action(db, action_id, state.value, None, detail, now, seal=seal, learn=learner(seal))
    set_state(db, intent.incident.id, incident_state.value, note, now)
    incident = intent.incident
    return ActionReport(
        incident.id, incident.host, incident.check_id, runbook.id, state.value, note
    )


def seal_of(
    inputs: HealInputs,
    incident: Incident | None,
    runbook_output: str | None,
    recheck_output: bytes | None,
    variables: Mapping[str, Any] | None = None,
) -> ActionSeal:
    """The evidence of an action on ``incident``: signed with the site key inside the
    transaction that finishes it (osiris.heal.evidence). ``variables``: what the runbook
    ran with (None: not known, for an action settled after a crash)."""
    drift = None if incident is None else inputs.drift(incident)
    return ActionSeal(inputs.signer, drift, runbook_output, recheck_output, variables)


def learner(seal: ActionSeal) -> ActionSealer | None:
    """What counts a finished action for the pattern its bundle signs (the flywheel;
    measured outcomes only), in the transaction that finishes it; None when there is no
    drift to count."""
    drift = seal.drift
    if drift is None:
        return None
    return lambda db, action_id: flywheel.count_outcome(db, action_id, drift)


def _escalate(
    db: sqlite_utils.Database,
    intent: Intent,
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
        intent,
        action.outcome,
        note,
        lockout_path=lockout_path,
        now=datetime.now(UTC),
    )
