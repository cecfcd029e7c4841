"""Heal history written the way `osiris heal` writes it: a scan's result opens an
incident, the action is journalled, runs, finishes, and the session records its outcome
for the flywheel. Used by the flywheel's unit, CLI and lab tests to give a pattern a past.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils
from nacl.signing import SigningKey

from osiris.catalog import Check
from osiris.evidence.keys import SiteSigner
from osiris.heal.evidence import ActionSeal
from osiris.heal.flywheel import Outcome, record_outcome
from osiris.heal.signature import drift_of
from osiris.heal.store import (
    Incident,
    finish_action,
    journal_action,
    live_incidents,
    mark_running,
    set_state,
    sync_incidents,
)
from osiris.model import CheckResult, Connection, Host, HostOutcome, Role, Status
from osiris.store.runs import RunStatus, finish_run, start_run

_hosts = itertools.count(1)
# a site key for databases that have none (unit tests); a lab site passes its own
THROWAWAY_SIGNER = SiteSigner("flywheel-test", SigningKey.generate())


@dataclass(frozen=True)
class Done:
    """One past action: who chose it, how it ended, what the re-run check said."""

    tier: str = "l2"
    state: str = "succeeded"
    post_status: str | None = "pass"
    rule_id: str | None = None


GOOD_L2 = Done()
BAD_L2 = Done(state="failed", post_status="fail")


def open_incident(
    db: sqlite_utils.Database,
    check: Check,
    status: Status,
    facts: Mapping[str, Any],
    when: datetime,
    host: str | None = None,
) -> Incident:
    """A scan of ``host`` that found this drift: the incident it opened (or bumped)."""
    name = host or f"ws-{next(_hosts)}"
    target = Host(name, "192.0.2.10", Connection.SSH, check.platform, Role.WORKSTATION)
    run_id = start_run(db, engine="direct", inventory=(), host_count=1, check_count=1)
    result = CheckResult(name, check.id, status, "seeded drift", dict(facts))
    sync_incidents(db, run_id, [HostOutcome(target, (result,))], when)
    finish_run(db, run_id, RunStatus.COMPLETE)
    return next(i for i in live_incidents(db) if i.key == (name, check.id))


def act(
    db: sqlite_utils.Database,
    incident: Incident,
    check: Check,
    runbook_id: str,
    done: Done,
    when: datetime,
    signer: SiteSigner = THROWAWAY_SIGNER,
) -> tuple[int, Outcome | None]:
    """Journal, run and finish one action on ``incident`` (sealing its evidence), then
    record it as the heal session does. Returns the action id and the outcome the
    flywheel counted."""
    drift = drift_of(check, incident.status, incident.facts, check.default_thresholds())
    action_id = journal_action(db, incident, runbook_id, done.rule_id, done.tier, when)
    mark_running(db, action_id)
    if done.state not in ("journaled", "running"):
        seal = ActionSeal(signer, drift)
        finish_action(db, action_id, done.state, done.post_status, "seeded action", when, seal=seal)
    outcome = record_outcome(db, action_id, drift)
    state = "resolved" if done.state == "succeeded" else "failed"
    set_state(db, incident.id, state, "seeded", when)
    return action_id, outcome


def seed(
    db: sqlite_utils.Database,
    check: Check,
    status: Status,
    facts: Mapping[str, Any],
    runbook_id: str,
    history: Iterable[Done],
    start: datetime,
    signer: SiteSigner = THROWAWAY_SIGNER,
) -> list[int]:
    """One past incident and action per entry of ``history``, each on its own host, a
    minute apart from ``start``. Returns the action ids."""
    ids = []
    for n, done in enumerate(history):
        when = start + timedelta(minutes=n)
        incident = open_incident(db, check, status, facts, when)
        ids.append(act(db, incident, check, runbook_id, done, when, signer)[0])
    return ids
