"""How escalations come in: one function for every path that needs a person.

``escalate`` records the request (dedup by host, check and category; see dedup.py) and
queues a notice when one is due; sending happens later, in ``deliver_pending``, so a
slow or dead mail server never holds a heal's decisions up.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import sqlite_utils

from osiris.catalog import Check
from osiris.config import EscalationConfig
from osiris.heal.escalation import dedup, notices, records
from osiris.heal.escalation.model import Decision, Escalated, EscalationRequest, NoticeKind
from osiris.heal.rules import parse_duration
from osiris.heal.store import Incident
from osiris.model import EscalationCategory
from osiris.privacy import scrub_text
from osiris.store.runs import transaction

_SUMMARY_LIMIT = 2000


def request_for(
    incident: Incident, check: Check, category: EscalationCategory, why: str
) -> EscalationRequest:
    """The request for ``incident``: ``why`` a person must look, plus what the check
    said; severity, title and guidance from the catalog."""
    return EscalationRequest(
        incident_id=incident.id,
        host=incident.host,
        check_id=incident.check_id,
        check_title=check.spec.title,
        category=category,
        severity=check.spec.severity,
        summary=f"{why.rstrip('.')}. The check says {incident.status}: {incident.reason}",
        guidance=check.spec.guidance,
    )


def escalate(
    db: sqlite_utils.Database,
    config: EscalationConfig,
    request: EscalationRequest,
    now: datetime,
) -> Escalated:
    """Record that a person must look; queue a notice unless an identical escalation
    (same host, check and category) was told within the dedup window.

    The summary is PHI-scrubbed before it is stored (it is what notices send). With no
    channel configured the escalation is recorded and no notice is queued.
    """
    request = replace(request, summary=scrub_text(request.summary)[:_SUMMARY_LIMIT])
    window = parse_duration(config.dedup_window)
    with transaction(db):
        live = records.live(db, request.host, request.check_id, request.category)
        last = notices.last_queued_at(db, live.id) if live is not None else None
        decision = dedup.decide(live, last, window, now)
        if decision is Decision.REMINDER and not config.has_channels:
            decision = Decision.OCCURRENCE  # nobody to remind: counted only
        if live is None:
            escalation_id = records.insert(db, request, now)
        else:
            escalation_id = live.id
            records.count_occurrence(db, escalation_id, now)
        notice_id = None
        if decision is not Decision.OCCURRENCE and config.has_channels:
            kind = NoticeKind.NEW if decision is Decision.NEW else NoticeKind.REMINDER
            notice_id = notices.queue(db, escalation_id, kind, now)
    return Escalated(escalation_id, decision, notice_id)


def escalate_l2_declined(
    db: sqlite_utils.Database,
    config: EscalationConfig,
    incident: Incident,
    check: Check,
    why: str,
    now: datetime,
) -> Escalated:
    """For the L2 planner: it gave no answer heal may act on (declined, a runbook
    outside the enum, confidence below the threshold, over budget). ``why`` says which,
    in words for a person; never put the prompt or the raw reply in it."""
    return escalate(
        db, config, request_for(incident, check, EscalationCategory.L2_DECLINED, why), now
    )
