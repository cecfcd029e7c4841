"""What a notice says, the same on every channel: a subject line, a plain-text body and
a JSON document (``osiris.escalation/v1``). Nothing secret is in an escalation, so
nothing secret can reach a message."""

from __future__ import annotations

from typing import Any

from osiris.heal.escalation.model import Notice, NoticeKind

SCHEMA = "osiris.escalation/v1"
NO_GUIDANCE = "The catalog has no guidance for this check; see its description."


def subject(site_id: str, notice: Notice) -> str:
    e = notice.escalation
    again = "reminder: " if notice.kind is NoticeKind.REMINDER else ""
    return f"[osiris {e.priority}] {again}{site_id}: {e.host} {e.check_id} ({e.category})"


def guidance(notice: Notice) -> str:
    return notice.escalation.guidance.strip() or NO_GUIDANCE


def body(site_id: str, notice: Notice) -> str:
    e = notice.escalation
    lines = [
        f"Osiris escalation {e.id} at site {site_id} needs a person.",
        "",
        f"Priority:   {e.priority} (severity {e.severity})",
        f"Host:       {e.host}",
        f"Check:      {e.check_id} - {e.check_title}",
        f"Category:   {e.category}",
        f"Incident:   {e.incident_id}",
        f"Opened:     {e.created_at}",
        f"Seen:       {e.occurrences} time(s), last {e.last_seen_at}",
        "",
        "What happened:",
        e.summary,
        "",
        "How to fix it by hand:",
        guidance(notice),
        "",
        f"Acknowledge: osiris escalations ack {e.id} --by NAME",
        f"Resolve:     osiris escalations resolve {e.id} --by NAME --note TEXT",
    ]
    return "\n".join(lines) + "\n"


def document(site_id: str, notice: Notice) -> dict[str, Any]:
    e = notice.escalation
    return {
        "schema": SCHEMA,
        "site": site_id,
        "notice": {"id": notice.id, "kind": notice.kind.value},
        "escalation": e.id,
        "incident": e.incident_id,
        "host": e.host,
        "check_id": e.check_id,
        "check_title": e.check_title,
        "category": e.category.value,
        "priority": e.priority.value,
        "severity": e.severity.value,
        "summary": e.summary,
        "guidance": guidance(notice),
        "occurrences": e.occurrences,
        "created_at": e.created_at,
        "last_seen_at": e.last_seen_at,
    }
