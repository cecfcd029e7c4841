"""The L2 call log (table ``l2_calls``): every answer the planner used, asked or cached.

A row is written once, when the answer is in (or the call failed); the action it started
and that action's outcome are filled in later, once each (a trigger refuses anything
else). Budgets and the decision cache read this table; ``osiris l2 log`` prints it.
Nothing secret is ever written here: the prompt is the scrubbed one, errors are
redacted by the planner before they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from osiris.heal.store import iso
from osiris.model import L2Verdict
from osiris.store.runs import transaction

_TEXT_LIMIT = 4000  # model output is untrusted and unbounded: keep a readable prefix


@dataclass(frozen=True)
class CallRecord:
    """One row, as the planner writes it."""

    at: datetime
    incident_id: int | None
    host: str
    check_id: str
    signature: str  # the drift signature (osiris.heal.signature): the cache key
    model: str
    verdict: L2Verdict
    reason: str  # the verdict in words, as the incident shows it
    cached_from: int | None = None
    prompt_digest: str | None = None
    prompt: str | None = None  # the scrubbed request as sent (JSON)
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0  # US dollars, from the reported usage and the price table
    decision: str | None = None  # what the model named: a runbook id, 'escalate', or else
    confidence: float | None = None
    reasoning: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class LoggedCall:
    """What the cache needs of an earlier row."""

    id: int
    decision: str | None
    confidence: float | None
    reasoning: str | None
    verdict: L2Verdict


def record(db: sqlite_utils.Database, call: CallRecord) -> int:
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO l2_calls (at, incident_id, host, check_id, signature, model,"
            " cached_from, prompt_digest, prompt, input_tokens, output_tokens, cost, decision,"
            " confidence, reasoning, verdict, reason, error) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                iso(call.at),
                call.incident_id,
                call.host,
                call.check_id,
                call.signature,
                call.model,
                call.cached_from,
                call.prompt_digest,
                call.prompt,
                call.input_tokens,
                call.output_tokens,
                call.cost,
                _clip(call.decision, 200),
                call.confidence,
                _clip(call.reasoning, _TEXT_LIMIT),
                call.verdict.value,
                _clip(call.reason, _TEXT_LIMIT),
                _clip(call.error, _TEXT_LIMIT),
            ],
        )
    return int(cursor.lastrowid or 0)


def attach_action(db: sqlite_utils.Database, call_id: int, action_id: int) -> None:
    """The action this answer started (journalled with tier l2)."""
    with transaction(db):
        db.execute("UPDATE l2_calls SET action_id = ? WHERE id = ?", [action_id, call_id])


def latest_answers(db: sqlite_utils.Database, since: datetime) -> dict[str, LoggedCall]:
    """:func:`latest_answer` of every drift signature asked about since ``since``."""
    rows = db.execute(
        "SELECT signature, id, decision, confidence, reasoning, verdict FROM l2_calls"
        " WHERE at >= ? AND cached_from IS NULL AND verdict NOT IN (?, ?) ORDER BY at, id",
        [iso(since), L2Verdict.ERROR.value, L2Verdict.UNREADABLE.value],
    ).fetchall()
    # the newest row of each signature comes last and wins
    return {row[0]: LoggedCall(row[1], row[2], row[3], row[4], L2Verdict(row[5])) for row in rows}


def latest_answer(db: sqlite_utils.Database, signature: str, since: datetime) -> LoggedCall | None:
    """The newest call for this drift asked since ``since`` that got a readable answer (a
    failed call has none; a cache hit is no call: an answer ages from when it was asked)."""
    row = db.execute(
        "SELECT id, decision, confidence, reasoning, verdict FROM l2_calls"
        " WHERE signature = ? AND at >= ? AND cached_from IS NULL AND verdict NOT IN (?, ?)"
        " ORDER BY at DESC, id DESC LIMIT 1",
        [signature, iso(since), L2Verdict.ERROR.value, L2Verdict.UNREADABLE.value],
    ).fetchone()
    if row is None:
        return None
    return LoggedCall(row[0], row[1], row[2], row[3], L2Verdict(row[4]))


def spent_since(db: sqlite_utils.Database, since: datetime) -> tuple[int, float]:
    """Calls made to the API since ``since`` (cache hits are not calls) and their cost."""
    row = db.execute(
        "SELECT count(*), coalesce(sum(cost), 0) FROM l2_calls"
        " WHERE cached_from IS NULL AND at >= ?",
        [iso(since)],
    ).fetchone()
    return int(row[0]), float(row[1])


def signature_history(
    db: sqlite_utils.Database, signature: str, limit: int
) -> list[dict[str, Any]]:
    """Earlier answers for this drift, newest first, without host names or prompts."""
    return list(
        db.query(
            "SELECT at, decision, confidence, verdict, outcome FROM l2_calls"
            " WHERE signature = :signature AND cached_from IS NULL"
            " ORDER BY at DESC, id DESC LIMIT :limit",
            {"signature": signature, "limit": limit},
        )
    )


def list_calls(db: sqlite_utils.Database, limit: int = 50) -> list[dict[str, Any]]:
    """Rows for `osiris l2 log`, newest first."""
    return list(
        db.query(
            "SELECT id, at, incident_id, host, check_id, signature, model, cached_from,"
            " prompt_digest, prompt, input_tokens, output_tokens, cost, decision, confidence,"
            " reasoning, verdict, reason, error, action_id, outcome, finished_at FROM l2_calls"
            " ORDER BY id DESC LIMIT :limit",
            {"limit": limit},
        )
    )


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]
