"""What a real heal does with a plan before it runs anything (a dry run does none of it).

- :func:`ask_l2`: each "ask L2" intent is asked (the call, its budget, its log row), and
  the snapshot is planned again with the answers, so an answer meets the same rails as
  an L1 choice;
- :func:`record`: the plan's decisions are written: the reuse of a cached L2 answer gets
  its log row, a disruptive runbook its approval request, each incident its new state
  (escalated, excepted, open again), and each escalation its L3 record and notice.

Running the HEAL intents is osiris.heal.action's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import sqlite_utils

from osiris.catalog import Catalog
from osiris.config import EscalationConfig
from osiris.heal import approvals
from osiris.heal.escalation import Escalated
from osiris.heal.escalation.steps import escalate_plan
from osiris.heal.intent import Intent, IntentKind, Plan
from osiris.heal.l2.planner import L2Planner
from osiris.heal.plan import approval_reason, plan
from osiris.heal.snapshot import Snapshot
from osiris.heal.store import set_state
from osiris.model import IncidentState


def ask_l2(
    db: sqlite_utils.Database, planned: Plan, snapshot: Snapshot, l2: L2Planner | None
) -> Plan:
    """The plan once L2 has answered every "ask L2" intent (unchanged when none)."""
    asks = planned.of(IntentKind.ASK_L2)
    if not asks or l2 is None:
        return planned
    # the planner logs each call; a second incident of the same drift reuses the answer
    choices = {
        i.incident.id: l2.choose(db, i.incident, snapshot.hosts[i.incident.host], snapshot.now)
        for i in asks
    }
    return plan(replace(snapshot, l2_choices=choices))


def record(
    db: sqlite_utils.Database,
    planned: Plan,
    *,
    l2: L2Planner | None,
    escalation: EscalationConfig,
    catalog: Catalog,
    now: datetime,
) -> tuple[Plan, list[Escalated]]:
    """Write what the plan decided; the plan with the ids so written, and the
    escalations made."""
    recorded = Plan([_record_one(db, intent, l2, now) for intent in planned.intents])
    for intent in recorded.intents:
        _record_state(db, intent, now)
    escalations = escalate_plan(db, escalation, catalog, recorded, now)
    return recorded, escalations


def _record_one(
    db: sqlite_utils.Database, intent: Intent, l2: L2Planner | None, now: datetime
) -> Intent:
    if intent.l2_cached is not None and l2 is not None:
        call = l2.record_reuse(db, intent.incident, intent.l2_cached, now)
        intent = replace(intent, l2_call=call)
    if intent.kind is IntentKind.APPROVAL and intent.approval_id is None:
        assert intent.runbook is not None
        request = approvals.request(db, intent.incident, intent.runbook.id, now)
        reason = approval_reason(intent.runbook.id, request.id)
        intent = replace(intent, approval_id=request.id, reason=reason)
    return intent


def _record_state(db: sqlite_utils.Database, intent: Intent, now: datetime) -> None:
    """Escalations and exceptions change the incident's state; an exception that no
    longer covers it opens it again."""
    incident = intent.incident
    if intent.kind is IntentKind.ESCALATE and incident.state != IncidentState.ESCALATED:
        suppressed = intent.suppress or None
        state = IncidentState.ESCALATED.value
        set_state(db, incident.id, state, intent.reason, now, suppressed=suppressed)
    elif intent.kind is IntentKind.EXCEPTED and incident.state != IncidentState.EXCEPTED:
        set_state(db, incident.id, IncidentState.EXCEPTED.value, intent.reason, now)
    elif intent.kind is not IntentKind.EXCEPTED and incident.state == IncidentState.EXCEPTED:
        note = "the exception no longer covers it"
        set_state(db, incident.id, IncidentState.OPEN.value, note, now)
