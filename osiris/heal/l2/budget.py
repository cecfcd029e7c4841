"""What L2 may spend: calls per hour and dollars per day, from what the API reported.

Both are rolling windows over the call log (the last 60 minutes, the last 24 hours), so
there is no burst at midnight. The check runs before each call; one call can overshoot
the dollar limit by its own cost, never more. Cache hits cost nothing and are not counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from osiris.config import L2Config, ModelPrice
from osiris.heal.l2.log import spent_since

_MTOK = 1_000_000


def cost_of(input_tokens: int, output_tokens: int, price: ModelPrice) -> float:
    """US dollars for one call at the table's per-million-token prices."""
    return (input_tokens * price.input + output_tokens * price.output) / _MTOK


def over_budget(db: sqlite_utils.Database, config: L2Config, now: datetime) -> str | None:
    """Why no call may be made now, or None when one may."""
    calls, _ = spent_since(db, now - timedelta(hours=1))
    if calls >= config.calls_per_hour:
        return f"{calls} calls within the last hour (limit {config.calls_per_hour})"
    _, dollars = spent_since(db, now - timedelta(days=1))
    if dollars >= config.dollars_per_day:
        return f"${dollars:.4f} spent within 24 hours (limit ${config.dollars_per_day:g})"
    return None
