"""Which heal decisions and outcomes become escalations, and of which category.

Plan intents of kind ESCALATE: the intent's own category when the planner set one (the L2
planner sets ``l2_declined``), else from why L1 gave up: the check could not decide
(``check_error``), a recurring flap (``flapping``), no rule (``no_rule``), attempts used
up (``retries_exhausted``). Action outcomes: the host stayed unreachable after a change
(``lockout``, always P1), the lockout guard had to roll a change back
(``runbook_failed``), the rule's last allowed attempt did not fix it
(``retries_exhausted``, the same key the next plan escalates, so one notice).
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from osiris.catalog import Catalog
from osiris.config import EscalationConfig
from osiris.heal.escalation.intake import escalate, request_for
from osiris.heal.escalation.model import Escalated
from osiris.heal.intent import Intent, IntentKind, Plan
from osiris.model import EscalationCategory, Status


def category_of(step: Intent) -> EscalationCategory:
    if step.category is not None:
        return step.category
    if step.incident.status is Status.ERROR:
        return EscalationCategory.CHECK_ERROR
    if step.suppress:
        return EscalationCategory.FLAPPING
    if step.rule is None:
        return EscalationCategory.NO_RULE
    return EscalationCategory.RETRIES_EXHAUSTED


def escalate_plan(
    db: sqlite_utils.Database,
    config: EscalationConfig,
    catalog: Catalog,
    plan: Plan,
    now: datetime,
) -> list[Escalated]:
    """One escalation per ESCALATE step (dedup makes a repeat an occurrence). A step
    whose check is outside this run's catalog (``--checks``) waits for a heal that
    covers the check: only that one knows its severity and guidance."""
    done = []
    for step in plan.of(IntentKind.ESCALATE):
        check = catalog.checks.get(step.incident.check_id)
        if check is not None:
            request = request_for(step.incident, check, category_of(step), step.reason)
            done.append(escalate(db, config, request, now))
    return done


def escalate_action(
    db: sqlite_utils.Database,
    config: EscalationConfig,
    catalog: Catalog,
    step: Intent,
    outcome: str,
    note: str,
    *,
    lockout_path: bool,
    now: datetime,
) -> Escalated | None:
    """The escalation an action's outcome needs now, if any. ``outcome`` is the action's
    end state; ``note`` says what happened; ``lockout_path`` is True when the action
    ended because osiris lost the host."""
    category = None
    if lockout_path:
        category = (
            EscalationCategory.LOCKOUT if outcome == "failed" else EscalationCategory.RUNBOOK_FAILED
        )
    elif (
        outcome == "failed"
        and step.rule is not None
        and step.incident.attempts + 1 >= step.rule.max_retries  # this was the last one
    ):
        category = EscalationCategory.RETRIES_EXHAUSTED
        note = f"{note}; rule {step.rule.id} allows {step.rule.max_retries} attempt(s)"
    check = catalog.checks.get(step.incident.check_id)
    if category is None or check is None:
        return None
    return escalate(db, config, request_for(step.incident, check, category, note), now)
