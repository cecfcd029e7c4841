"""Dedup and rate limit: who is told, and when. Pure functions over what the store says.

Dedup is keyed by (host, check, category), never by (host, check) alone: an escalation
of another category for the same host and check is its own notice (the system this
replaces swallowed those). Within the window after a notice, the same key only counts an
occurrence. After it, an escalation nobody acknowledged gets a reminder; an acknowledged
one stays quiet (a person has it); a resolved one is closed, so the next escalation of
the key is new and is told again.

The rate limit caps first tries over all notices per hour; notices over the cap stay
queued and go out on a later heal, most urgent first. Retries of notices already tried
are never held back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from osiris.heal.escalation.model import Decision, Escalation
from osiris.model import EscalationState

RATE_PERIOD = timedelta(hours=1)


def decide(
    live: Escalation | None, last_queued: datetime | None, window: timedelta, now: datetime
) -> Decision:
    """What to do with an escalation whose key's live row is ``live``.

    ``last_queued`` is when that row's newest notice was queued (None: never, as when no
    channel was configured then).
    """
    if live is None:
        return Decision.NEW
    if live.state is EscalationState.ACKNOWLEDGED:
        return Decision.OCCURRENCE
    if last_queued is not None and now < last_queued + window:
        return Decision.OCCURRENCE
    return Decision.REMINDER


def budget(started_in_period: int, max_per_hour: int) -> int:
    """How many not-yet-tried notices may have their first try now."""
    return max(0, max_per_hour - started_in_period)
