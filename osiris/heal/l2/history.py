"""How a drift pattern went before, for the prompt: earlier answers and heal actions.

An action belongs to the pattern when its incident's drift has the same signature. The
facts read are the incident's last failing ones (an incident keeps the facts of its last
drifting scan), which is what the action was started on in all but rare cases. Host
names, facts and prompts stay out: only what was chosen and how it ended.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlite_utils

from osiris.catalog.model import Check
from osiris.heal.l2.log import signature_history
from osiris.heal.signature import Drift, drift_of
from osiris.model import Status

_SCAN_FACTOR = 5  # actions read per action kept: others of the check may be other drifts


def pattern_history(
    db: sqlite_utils.Database,
    check: Check,
    drift: Drift,
    thresholds: Mapping[str, Any],
    limit: int,
) -> dict[str, list[dict[str, Any]]]:
    if limit <= 0:
        return {"answers": [], "actions": []}
    return {
        "answers": signature_history(db, drift.signature, limit),
        "actions": _actions(db, check, drift, thresholds, limit),
    }


def _actions(
    db: sqlite_utils.Database,
    check: Check,
    drift: Drift,
    thresholds: Mapping[str, Any],
    limit: int,
) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT a.started_at, a.tier, a.runbook_id, a.state, a.post_status, a.pre_status,"
        " i.facts FROM heal_actions a JOIN incidents i ON i.id = a.incident_id"
        " WHERE a.check_id = ? AND a.state NOT IN ('journaled', 'running')"
        " ORDER BY a.id DESC LIMIT ?",
        [check.id, limit * _SCAN_FACTOR],
    ).fetchall()
    found = []
    for at, tier, runbook_id, state, post_status, pre_status, facts in rows:
        then = drift_of(check, Status(pre_status), json.loads(facts) if facts else None, thresholds)
        if then.signature != drift.signature:
            continue
        found.append(
            {
                "at": at,
                "tier": tier,
                "runbook": runbook_id,
                "outcome": state,
                "check_after": post_status,
            }
        )
        if len(found) >= limit:
            break
    return found
