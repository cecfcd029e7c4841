"""The decision cache: the same drift is not asked about twice within ``cache_hours``.

The key is the drift signature (osiris.heal.signature, contract 4 of
docs/architecture.md): check, platform, status, the finding that fired and the facts it
reads, never their values, so the same drift on fifty hosts costs one call. Only
answers are cached, not failures (a timeout or a 529 is asked again on the next heal,
within the budget). A cached answer goes through the guardrails again, so a runbook
removed since is not chosen. Reading the cache is planning (pure, no call); logging the
reuse is the apply stage's (osiris.heal.l2.planner.L2Planner.record_reuse).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import sqlite_utils

from osiris.heal.l2.answer import Answer
from osiris.heal.l2.guardrails import Judgement, judge
from osiris.heal.l2.log import LoggedCall, latest_answer, latest_answers


def lookup(
    db: sqlite_utils.Database, signature: str, now: datetime, hours: float
) -> LoggedCall | None:
    if hours <= 0:
        return None
    return latest_answer(db, signature, now - timedelta(hours=hours))


def cached_answers(db: sqlite_utils.Database, now: datetime, hours: float) -> dict[str, LoggedCall]:
    """Every answer still in the cache, by drift signature."""
    if hours <= 0:
        return {}
    return latest_answers(db, now - timedelta(hours=hours))


def judge_cached(cached: LoggedCall, offered: Sequence[str], min_confidence: float) -> Judgement:
    """A cached answer judged again against what is offered now; its reason names the
    call it came from."""
    answer = Answer(cached.decision or "", cached.confidence or 0.0, cached.reasoning or "")
    judgement = judge(answer, offered, min_confidence)
    return replace(judgement, reason=f"{judgement.reason} [answer of L2 call {cached.id}, cached]")
