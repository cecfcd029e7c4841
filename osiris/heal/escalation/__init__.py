"""L3: telling a person, once and clearly, when heal cannot or must not fix something.

Public surface:

- ``escalate(db, config, request, now)``: the one way in; records, dedups, queues.
- ``request_for(incident, check, category, why)``: the request for an incident.
- ``escalate_l2_declined(db, config, incident, check, why, now)``: for the L2 planner.
- ``deliver_pending(db, config, now, site_id=..., secrets_path=...)``: send what is
  queued (end of every heal).
- ``records``: list, acknowledge, resolve (the CLI).

Modules: model (what an escalation is, priorities), records (the table), notices (queue
and attempt log), dedup (dedup and rate limit), message (what a notice says), channel,
mail and webhook (how it is sent), notify (delivery), intake (the way in).
"""

from osiris.heal.escalation.intake import escalate, escalate_l2_declined, request_for
from osiris.heal.escalation.model import (
    Decision,
    Escalated,
    Escalation,
    EscalationRequest,
    priority_for,
)
from osiris.heal.escalation.notify import Delivery, deliver_pending

__all__ = [
    "Decision",
    "Delivery",
    "Escalated",
    "Escalation",
    "EscalationRequest",
    "deliver_pending",
    "escalate",
    "escalate_l2_declined",
    "priority_for",
    "request_for",
]
