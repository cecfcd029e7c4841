"""What an escalation is: the request heal makes, the record it becomes, its priority.

Priority comes from the check's severity, one step per level, except that a host osiris
lost after its own change is always P1 (nothing else can reach it to fix it):

    ========  ========
    severity  priority
    ========  ========
    critical  P1
    high      P2
    medium    P3
    low       P4
    ========  ========
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from osiris.model import EscalationCategory, EscalationState, Priority, Severity

_BY_SEVERITY = {
    Severity.CRITICAL: Priority.P1,
    Severity.HIGH: Priority.P2,
    Severity.MEDIUM: Priority.P3,
    Severity.LOW: Priority.P4,
}


def priority_for(severity: Severity, category: EscalationCategory) -> Priority:
    """The documented mapping (module docstring)."""
    if category is EscalationCategory.LOCKOUT:
        return Priority.P1
    return _BY_SEVERITY[severity]


@dataclass(frozen=True)
class EscalationRequest:
    """One reason a person must look at one incident. ``summary`` says what happened
    (PHI-scrubbed before it is stored or sent); ``guidance`` is the catalog's
    how-to-fix-it-by-hand text for the check."""

    incident_id: int
    host: str
    check_id: str
    check_title: str
    category: EscalationCategory
    severity: Severity
    summary: str
    guidance: str

    @property
    def priority(self) -> Priority:
        return priority_for(self.severity, self.category)


@dataclass(frozen=True)
class Escalation:
    """A stored escalation (table ``escalations``)."""

    id: int
    incident_id: int
    host: str
    check_id: str
    category: EscalationCategory
    priority: Priority
    severity: Severity
    check_title: str
    summary: str
    guidance: str
    state: EscalationState
    occurrences: int
    created_at: str
    last_seen_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    resolved_at: str | None
    resolved_by: str | None
    resolution_note: str | None


class NoticeKind(StrEnum):
    NEW = "new"  # the first notice of an escalation
    REMINDER = "reminder"  # still open (not acknowledged) after the dedup window


class Decision(StrEnum):
    """What ``escalate`` did with a request."""

    NEW = "new"  # a new escalation, notice queued
    OCCURRENCE = "occurrence"  # counted on the live escalation; nothing sent
    REMINDER = "reminder"  # counted, and the window has passed: a reminder is queued


@dataclass(frozen=True)
class Escalated:
    """The outcome of ``escalate``: the escalation's id, the decision, and the notice
    queued (None when nothing is to be sent, or no channel is configured)."""

    escalation_id: int
    decision: Decision
    notice_id: int | None


@dataclass(frozen=True)
class Notice:
    """A queued notice with everything a channel renders (no secrets)."""

    id: int
    kind: NoticeKind
    escalation: Escalation
    started_at: str | None
