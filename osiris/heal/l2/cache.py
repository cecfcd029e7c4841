"""The decision cache: the same drift is not asked about twice within ``cache_hours``.

The key is the drift signature (osiris.heal.signature, docs/architecture.md, contract 4): check,
platform, status, the finding that fired and the facts it reads, never their values, so
the same drift on fifty hosts costs one call. Only answers are cached, not failures (a
timeout or a 529 is asked again on the next heal, within the budget). A cached answer
goes through the guardrails again, so a runbook removed since is not chosen.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from osiris.heal.l2.log import LoggedCall, latest_answer


def lookup(
    db: sqlite_utils.Database, signature: str, now: datetime, hours: float
) -> LoggedCall | None:
    if hours <= 0:
        return None
    return latest_answer(db, signature, now - timedelta(hours=hours))
