"""The learning flywheel: what each pattern's fixes measurably did, and which patterns
have earned an L1 rule.

A pattern is a drift plus the runbook run for it, identified by the one signature of
``osiris.heal.signature`` (docs/architecture.md, contract 4). Every finished heal action adds its
outcome to its pattern once (``pattern_outcomes`` is keyed by action id, so recording an
action again counts nothing). Only measured outcomes count (contract 3):

- success: the action ``succeeded``, which the executor sets only when the re-run check
  passed on the host;
- failure: it ``failed`` or was ``rolled_back``, or it was ``reconciled`` after a crash
  and the re-check did not pass;
- unverified (kept, counted apart, never in a rate): reconciled without a re-check, or
  reconciled with a passing re-check (the check passes, but nothing shows that the
  runbook, rather than a person, made it pass). Dry runs are never recorded.

``occurrences`` is the number of measured outcomes (successes + failures, all tiers).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlite_utils

from osiris.config import FlywheelConfig
from osiris.errors import InputError
from osiris.heal.signature import SIGNATURE_VERSION, Drift
from osiris.model import ActionState, Status, Tier
from osiris.store.runs import transaction


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    UNVERIFIED = "unverified"


class PatternState(StrEnum):
    LEARNING = "learning"
    CANDIDATE = "candidate"
    PROMOTED = "promoted"
    DEMOTED = "demoted"


# the counter each (tier, outcome) adds to: constant SQL fragments, never user text
_COUNTER = {
    (Tier.L1, Outcome.SUCCESS): "l1_successes",
    (Tier.L1, Outcome.FAILURE): "l1_failures",
    (Tier.L2, Outcome.SUCCESS): "l2_successes",
    (Tier.L2, Outcome.FAILURE): "l2_failures",
}
_FINISHED = frozenset(
    {ActionState.SUCCEEDED, ActionState.FAILED, ActionState.ROLLED_BACK, ActionState.RECONCILED}
)


def outcome_of(state: str, post_status: str | None) -> Outcome:
    """The measured outcome of a finished action (see the module docstring)."""
    if state == ActionState.SUCCEEDED:
        return Outcome.SUCCESS
    if state in (ActionState.FAILED, ActionState.ROLLED_BACK):
        return Outcome.FAILURE
    if state == ActionState.RECONCILED and post_status not in (None, Status.PASS):
        return Outcome.FAILURE
    return Outcome.UNVERIFIED


def record_outcome(db: sqlite_utils.Database, action_id: int, drift: Drift) -> Outcome | None:
    """Count the finished action ``action_id`` for the pattern (``drift`` + its runbook).

    ``drift`` is the incident's drift as the action saw it (its status and facts before
    the fix). Returns the outcome counted, or None when the action has not finished or was
    counted already.
    """
    with transaction(db):
        return count_outcome(db, action_id, drift)


def count_outcome(db: sqlite_utils.Database, action_id: int, drift: Drift) -> Outcome | None:
    """:func:`record_outcome` inside the caller's transaction: the heal session counts an
    action in the transaction that finishes it, so a crash cannot lose the count."""
    row = db.execute(
        "SELECT runbook_id, rule_id, tier, state, post_status, host, finished_at"
        " FROM heal_actions WHERE id = ?",
        [action_id],
    ).fetchone()
    if row is None:
        raise InputError(f"no heal action {action_id}")
    runbook_id, rule_id, tier, state, post_status, host, finished_at = row
    if state not in _FINISHED or finished_at is None:
        return None
    pattern = drift.with_runbook(runbook_id)
    outcome = outcome_of(state, post_status)
    fields = pattern.describe()
    db.execute(
        "INSERT INTO patterns (signature, signature_version, check_id, platform, status,"
        " finding, facts, runbook_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?,"
        " ?, ?, ?) ON CONFLICT (signature) DO NOTHING",
        [
            pattern.signature,
            fields["v"],
            fields["check_id"],
            fields["platform"],
            fields["status"],
            fields["finding"],
            json.dumps(fields["facts"]),
            runbook_id,
            finished_at,
            finished_at,
        ],
    )
    inserted = db.execute(
        "INSERT INTO pattern_outcomes (action_id, signature, tier, outcome, rule_id, host,"
        " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (action_id) DO NOTHING",
        [action_id, pattern.signature, tier, outcome.value, rule_id, host, finished_at],
    ).rowcount
    if inserted != 1:
        return None  # this action was counted before
    counter = _COUNTER.get((Tier(tier), outcome))
    measured = (
        f", {counter} = {counter} + 1, occurrences = occurrences + 1"
        if counter
        else ", unverified = unverified + 1"
    )
    db.execute(
        f"UPDATE patterns SET last_seen = max(last_seen, ?),"
        f" first_seen = min(first_seen, ?){measured} WHERE signature = ?",
        [finished_at, finished_at, pattern.signature],
    )
    return outcome


@dataclass(frozen=True)
class PatternStats:
    """One pattern and what its fixes measurably did."""

    signature: str
    signature_version: int
    check_id: str
    platform: str
    status: str
    finding: str | None  # the evaluate rule's id ('#N': a position, signature version 1)
    facts: tuple[str, ...]
    runbook_id: str
    occurrences: int
    l1_successes: int
    l1_failures: int
    l2_successes: int
    l2_failures: int
    unverified: int
    first_seen: str
    last_seen: str
    promoted_rule_id: str | None
    promoted_at: str | None
    demoted: bool
    demoted_at: str | None
    demoted_reason: str | None

    @property
    def successes(self) -> int:
        return self.l1_successes + self.l2_successes

    @property
    def failures(self) -> int:
        return self.l1_failures + self.l2_failures

    @property
    def success_rate(self) -> float | None:
        """Successes over measured outcomes; None before the first one."""
        return self.successes / self.occurrences if self.occurrences else None

    @property
    def promoted(self) -> bool:
        return self.promoted_rule_id is not None and not self.demoted

    def state(self, config: FlywheelConfig) -> PatternState:
        if self.demoted:
            return PatternState.DEMOTED
        if self.promoted:
            return PatternState.PROMOTED
        return PatternState.CANDIDATE if is_candidate(self, config) else PatternState.LEARNING

    def to_dict(self, config: FlywheelConfig) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["facts"] = list(self.facts)
        data["successes"], data["failures"] = self.successes, self.failures
        data["success_rate"] = self.success_rate
        data["state"] = self.state(config).value
        return data


_COLUMNS = (
    "signature, signature_version, check_id, platform, status, finding, facts, runbook_id,"
    " occurrences, l1_successes, l1_failures, l2_successes, l2_failures, unverified,"
    " first_seen, last_seen, promoted_rule_id, promoted_at, demoted, demoted_at, demoted_reason"
)


def _stats(row: Mapping[str, Any]) -> PatternStats:
    return PatternStats(
        **{**row, "facts": tuple(json.loads(row["facts"])), "demoted": bool(row["demoted"])}
    )


def list_patterns(db: sqlite_utils.Database) -> list[PatternStats]:
    """Every pattern, most recently seen first."""
    rows = db.query(f"SELECT {_COLUMNS} FROM patterns ORDER BY last_seen DESC, signature")
    return [_stats(r) for r in rows]


def find_pattern(db: sqlite_utils.Database, ref: str) -> PatternStats:
    """The pattern whose signature is ``ref`` or starts with it (8 characters or more)."""
    ref = ref.strip().lower()
    if len(ref) < 8 or any(c not in "0123456789abcdef" for c in ref):
        raise InputError(f"'{ref}' is not a pattern signature (8 or more hex digits)")
    rows = list(
        db.query(
            f"SELECT {_COLUMNS} FROM patterns WHERE substr(signature, 1, ?) = ? LIMIT 2",
            [len(ref), ref],
        )
    )
    if not rows:
        raise InputError(f"no pattern {ref} (see `osiris patterns list`)")
    if len(rows) > 1:
        raise InputError(f"'{ref}' names more than one pattern: give more of the signature")
    return _stats(rows[0])


def is_candidate(pattern: PatternStats, config: FlywheelConfig) -> bool:
    """Enough measured fixes, enough of them good, enough of them chosen by L2; never a
    promoted or demoted pattern, nor one without a finding to match on."""
    rate = pattern.success_rate
    return (
        not pattern.promoted
        and not pattern.demoted
        and pattern.signature_version == SIGNATURE_VERSION
        and pattern.finding is not None
        and pattern.occurrences >= config.min_occurrences
        and rate is not None
        and rate >= config.min_success_rate
        and pattern.l2_successes >= config.min_l2_successes
    )


def candidates(db: sqlite_utils.Database, config: FlywheelConfig) -> list[PatternStats]:
    return [p for p in list_patterns(db) if is_candidate(p, config)]


@dataclass(frozen=True)
class RuleRecord:
    """How a promoted rule has done as L1 since its promotion."""

    successes: int
    failures: int

    @property
    def measured(self) -> int:
        return self.successes + self.failures

    @property
    def failure_rate(self) -> float:
        return self.failures / self.measured if self.measured else 0.0


def since_promotion(db: sqlite_utils.Database, pattern: PatternStats) -> RuleRecord:
    """Outcomes of actions the promoted rule itself chose, since it was promoted."""
    if pattern.promoted_rule_id is None or pattern.promoted_at is None:
        return RuleRecord(0, 0)
    counts = dict(
        db.execute(
            "SELECT outcome, count(*) FROM pattern_outcomes WHERE signature = ? AND tier = ?"
            " AND rule_id = ? AND recorded_at >= ? GROUP BY outcome",
            [pattern.signature, Tier.L1.value, pattern.promoted_rule_id, pattern.promoted_at],
        ).fetchall()
    )
    return RuleRecord(counts.get(Outcome.SUCCESS.value, 0), counts.get(Outcome.FAILURE.value, 0))


def demotion_due(
    db: sqlite_utils.Database, config: FlywheelConfig
) -> list[tuple[PatternStats, str]]:
    """Promoted patterns whose rule fails too often as L1, each with the reason."""
    due = []
    for pattern in list_patterns(db):
        if not pattern.promoted:
            continue
        record = since_promotion(db, pattern)
        if (
            record.measured >= config.demote_min_outcomes
            and record.failure_rate > config.demote_failure_rate
        ):
            due.append(
                (
                    pattern,
                    f"{record.failures} of {record.measured} fixes by rule"
                    f" {pattern.promoted_rule_id} failed since its promotion"
                    f" ({record.failure_rate:.0%} > {config.demote_failure_rate:.0%})",
                )
            )
    return due
