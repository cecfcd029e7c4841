"""Settling actions a dead heal left journalled or running (a crash, a ``kill -9``).

Before anything is re-checked, what is left of the action's runbook is ended: its
playbook is leashed to the heal that started it and dies with it (osiris.ansible.leash),
but a run still alive, for whatever reason, would otherwise change the host after the
re-check and make the evidence say the opposite of what happened. Its private directory
goes with it. Then the check is re-run and the action ends ``reconciled`` with what the
host says now.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from osiris.ansible.runner import remove_run
from osiris.heal.action import learner, runbook_dir, seal_of
from osiris.heal.executor import passed, recheck
from osiris.heal.inputs import HealInputs
from osiris.heal.store import Action, finish_action, get_incident, set_state, unfinished_actions
from osiris.model import ActionState, Host, IncidentState
from osiris.store.runs import process_alive


def reconcile(db: sqlite_utils.Database, inputs: HealInputs, home: Path) -> list[str]:
    """Settle every unfinished action whose heal is gone; one note per action."""
    hosts = {h.name: h for h in inputs.hosts}
    return [_settle(db, action, hosts, inputs, home) for action in _orphaned(db)]


def unsettled(db: sqlite_utils.Database) -> list[str]:
    """What :func:`reconcile` would settle (a dry run settles nothing)."""
    return [
        f"action {a.id} ({a.runbook_id} on {a.host}): unfinished; the next heal settles it"
        for a in _orphaned(db)
    ]


def _orphaned(db: sqlite_utils.Database) -> list[Action]:
    return [
        action
        for action in unfinished_actions(db)
        # still running elsewhere on this machine (the heal lock makes this rare)
        if not (action.pid and action.node == socket.gethostname() and process_alive(action.pid))
    ]


def _settle(
    db: sqlite_utils.Database,
    action: Action,
    hosts: Mapping[str, Host],
    inputs: HealInputs,
    home: Path,
) -> str:
    ended = remove_run(runbook_dir(home, action.id))
    left = f"; ended {len(ended)} process(es) of its runbook first" if ended else ""
    now = datetime.now(UTC)
    host = hosts.get(action.host)
    incident = get_incident(db, action.incident_id)
    if host is None:
        seal = seal_of(inputs, incident, None, None)
        finish_action(
            db,
            action.id,
            ActionState.RECONCILED.value,
            None,
            f"interrupted; host not in this inventory, not re-checked{left}",
            now,
            seal=seal,
            learn=learner(seal),  # unverified: kept, counted in no rate
        )
        return f"action {action.id} on {action.host}: interrupted, host not re-checked{left}"
    check = inputs.catalog.get(action.check_id)
    checked = recheck(host, check, inputs.thresholds_for(check), inputs.settings)
    result = checked.result
    seal = seal_of(inputs, incident, None, checked.raw_output)
    finish_action(
        db,
        action.id,
        ActionState.RECONCILED.value,
        result.status.value,
        f"interrupted; on re-check the check is {result.status}{left}",
        now,
        seal=seal,
        learn=learner(seal),
    )
    set_state(
        db,
        action.incident_id,
        IncidentState.RESOLVED.value if passed(result) else IncidentState.FAILED.value,
        f"interrupted {action.runbook_id}; re-check says {result.status}",
        now,
    )
    note = f"action {action.id} ({action.runbook_id} on {action.host}): check is {result.status}"
    return note + left
