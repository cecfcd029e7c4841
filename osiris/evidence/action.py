"""in-toto Statement v1 for one finished heal action: what Osiris signs when a fix ends.

Shape (``predicateType`` https://osiris.dev/heal-action/v1)::

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": "runbook-output", "digest": {"sha256": "..."}},
                 {"name": "recheck-output", "digest": {"sha256": "..."}}],
     "predicateType": "https://osiris.dev/heal-action/v1",
     "predicate": {"site": "clinic-a", "run": 12, "kind": "heal", "host": {"name": "ws1"},
                   "action": {"id": 3, "incident": 7, "host": "ws1", "check": "lnx_firewall",
                              "runbook": "linux_firewall", "rule": "l1_firewall",
                              "tier": "l1", "state": "succeeded", "pre_status": "fail",
                              "post_status": "pass", "detail": "...",
                              "started": "...", "finished": "..."},
                   "pattern": "9f0c...", "runbook_vars": {"osiris_min_length": 16},
                   "clock": {...}, "osiris_version": "0.1.0"}}

``action`` is the ``heal_actions`` row as it was finally written, read back inside the
transaction that wrote it (so the statement cannot disagree with the row), made
JSON-safe, then PHI-scrubbed with the rest of the predicate at signing; the verifier
renders the stored row with :func:`action_entry`, scrubbed with the rules the predicate
names, and compares. ``run`` is the scan whose drift the action answers.
``pattern`` is the one pattern signature (:mod:`osiris.heal.signature`; None when the
check was not known). ``runbook_vars`` are the variables the runbook ran with beyond its
playbook's own (osiris.heal.variables; null when not known: an action settled after a
crash; absent from statements older than it). Subjects are the raw artifacts,
PHI-scrubbed: the runbook's output (ansible-runner's stdout, or what the PowerShell
printed) and the re-run check's probe output, each when there is one; an action that
has neither (settled after a crash, its host gone) has its closing note as its only
subject.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from osiris import __version__
from osiris.evidence.clock import ClockInfo
from osiris.evidence.statement import Artifact, json_safe
from osiris.privacy import Scrubber, scrub

HEAL_PREDICATE_TYPE = "https://osiris.dev/heal-action/v1"

ActionRow = tuple[
    int, int, str, str, str, str | None, str, str, str, str | None, str | None, str, str | None
]
"""A ``heal_actions`` row in :data:`_COLUMNS` order."""

_COLUMNS = (
    "id, incident_id, host, check_id, runbook_id, rule_id, tier, state, pre_status,"
    " post_status, detail, started_at, finished_at"
)
_KEYS = (
    "id",
    "incident",
    "host",
    "check",
    "runbook",
    "rule",
    "tier",
    "state",
    "pre_status",
    "post_status",
    "detail",
    "started",
    "finished",
)


def read_action(conn: sqlite3.Connection, action_id: int) -> ActionRow | None:
    """The ``heal_actions`` row ``action_id`` as stored (None: there is none)."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM heal_actions WHERE id = ?", [action_id]).fetchone()
    return None if row is None else tuple(row)


def _fields(row: ActionRow) -> dict[str, Any]:
    fields: dict[str, Any] = json_safe(dict(zip(_KEYS, row, strict=True)))
    return fields


def read_counted_pattern(conn: sqlite3.Connection, action_id: int) -> str | None:
    """The pattern signature the flywheel counted the action under (``pattern_outcomes``,
    written in the transaction that sealed it); None when it was not counted."""
    row = conn.execute(
        "SELECT signature FROM pattern_outcomes WHERE action_id = ?", [action_id]
    ).fetchone()
    return None if row is None else str(row[0])


def action_entry(row: ActionRow, rules: Scrubber) -> dict[str, Any]:
    """The predicate's ``action`` exactly as signed with the PHI ``rules`` the predicate
    names, from a stored row."""
    entry: dict[str, Any] = rules.value(_fields(row))
    return entry


def entry_difference(row: ActionRow, signed: Any, rules: Scrubber) -> str:
    """Which fields of the stored row differ from the signed ``action``."""
    if not isinstance(signed, dict):
        return "the statement holds no action"
    stored = action_entry(row, rules)
    fields = sorted(k for k in stored.keys() | signed.keys() if stored.get(k) != signed.get(k))
    return "the heal_actions row differs from the signed action (" + ", ".join(fields) + ")"


def heal_predicate(
    *,
    site_id: str,
    run_id: int,
    row: ActionRow,
    pattern: str | None,
    clock: ClockInfo,
    runbook_vars: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The (not yet scrubbed) predicate for one finished action."""
    return {
        "site": site_id,
        "run": run_id,
        "kind": "heal",
        "host": {"name": row[2]},
        "action": _fields(row),
        "pattern": pattern,
        "runbook_vars": None if runbook_vars is None else json_safe(dict(runbook_vars)),
        "clock": clock.as_dict(),
        "osiris_version": __version__,
    }


def action_artifacts(
    runbook_output: str | None, recheck_output: bytes | None, note: str
) -> tuple[Artifact, ...]:
    """The subjects of an action's statement, PHI-scrubbed like the payload: the
    runbook's output and the re-run check's probe output when there are any, else the
    action's closing ``note``."""
    artifacts = []
    if runbook_output is not None:
        artifacts.append(Artifact.of("runbook-output", scrub(runbook_output).encode()))
    if recheck_output is not None:
        text = scrub(recheck_output.decode("utf-8", "replace"))
        artifacts.append(Artifact.of("recheck-output", text.encode()))
    if not artifacts:
        artifacts.append(Artifact.of("action-note", scrub(note).encode()))
    return tuple(artifacts)
