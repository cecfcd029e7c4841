"""Promoting a learned pattern to an L1 rule, and demoting it again.

Promoted rules live in ``<home>/rules/promoted.yaml``, a site rule file like any other
(``osiris.heal.rules`` loads it, validated against the registry). A promoted rule
matches exactly its pattern's drift: its check, the same status and the same finding
(the id of the check's evaluate rule that fired, which fixes the facts it read); the
platform follows from the check. It runs the pattern's runbook.

The file is rewritten whole, atomically (temp file + rename) under a lock, keeping the
other promoted rules; a rewrite that would not load is refused before it replaces
anything.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils
import yaml

from osiris.catalog import Catalog
from osiris.config import FlywheelConfig
from osiris.errors import InputError, OsirisError
from osiris.heal.flywheel import PatternStats, demotion_due, find_pattern, is_candidate
from osiris.heal.rules import load_rules, rule_files
from osiris.heal.runbooks import RunbookRegistry
from osiris.heal.signature import SIGNATURE_VERSION
from osiris.heal.store import iso
from osiris.store.runs import transaction
from osiris.yamlfile import load_yaml

PROMOTED_FILE = "promoted.yaml"
# below a hand-written rule's default (100): a person's rule for the same drift wins
PROMOTED_PRIORITY = 90
_HEADER = (
    "# L1 rules learned by the flywheel, written by `osiris patterns promote`.\n"
    "# `osiris patterns demote SIGNATURE` removes one (a rule edited here is kept as is).\n"
)


def rule_id_for(pattern: PatternStats) -> str:
    return f"promoted_{pattern.signature[:12]}"


def rule_for(
    pattern: PatternStats, now: datetime, cooldown: str = "1h", max_retries: int = 3
) -> dict[str, Any]:
    """The L1 rule (as it is written to the file) that matches exactly this drift."""
    rate = pattern.success_rate or 0.0
    return {
        "id": rule_id_for(pattern),
        "description": (
            f"Learned from pattern {pattern.signature}: {pattern.check_id} {pattern.status}"
            f" (finding {pattern.finding}, reads {', '.join(pattern.facts) or 'no facts'})"
            f" fixed by {pattern.runbook_id} in {pattern.successes} of {pattern.occurrences}"
            f" measured runs ({rate:.0%}, {pattern.l2_successes} chosen by L2);"
            f" promoted {now.date().isoformat()}"
        ),
        "checks": [pattern.check_id],
        "when": {
            "all": [
                {"fact": "status", "eq": pattern.status},
                {"fact": "finding", "eq": pattern.finding},
            ]
        },
        "runbook": pattern.runbook_id,
        "priority": PROMOTED_PRIORITY,
        "cooldown": cooldown,
        "max_retries": max_retries,
    }


def promote(
    db: sqlite_utils.Database,
    home: Path,
    ref: str,
    *,
    catalog: Catalog,
    runbooks: RunbookRegistry,
    builtin_dir: Path,
    config: FlywheelConfig,
    now: datetime,
    force: bool = False,
    actor: str = "operator",
    cooldown: str = "1h",
    max_retries: int = 3,
) -> tuple[PatternStats, str]:
    """Write the pattern's L1 rule and mark the pattern promoted. Returns (pattern, rule id).

    ``cooldown`` and ``max_retries`` are the rule's rails; callers pass those the pattern
    was learned under (the L2 planner's), so only the LLM call goes away. Refuses a
    pattern that is not a candidate unless ``force``; one without a finding (nothing
    exact to match on) or learned under an older signature definition always.
    """
    pattern = find_pattern(db, ref)
    if pattern.signature_version != SIGNATURE_VERSION:
        raise OsirisError(
            f"pattern {pattern.signature} was learned under signature version"
            f" {pattern.signature_version} (findings by position, before evaluate rules had"
            f" ids); only patterns of version {SIGNATURE_VERSION} can be promoted"
        )
    if pattern.finding is None:
        raise OsirisError(f"pattern {pattern.signature} has no finding to match on")
    if pattern.promoted:
        raise OsirisError(
            f"pattern {pattern.signature} is already promoted as rule {pattern.promoted_rule_id}"
        )
    if not force and not is_candidate(pattern, config):
        raise OsirisError(
            f"pattern {pattern.signature} is not a candidate ({_shortfall(pattern, config)});"
            " --force promotes it anyway"
        )
    rule = rule_for(pattern, now, cooldown, max_retries)
    with _locked(home):
        rules = [r for r in _read(home) if r.get("id") != rule["id"]]
        _write(home, [*rules, rule], catalog, runbooks, builtin_dir)
    with transaction(db):
        db.execute(
            "UPDATE patterns SET promoted_rule_id = ?, promoted_at = ?, demoted = 0,"
            " demoted_at = NULL, demoted_reason = NULL WHERE signature = ?",
            [rule["id"], iso(now), pattern.signature],
        )
        _event(db, pattern, "promoted", rule["id"], actor, rule["description"], now)
    return find_pattern(db, pattern.signature), rule["id"]


def demote(
    db: sqlite_utils.Database,
    home: Path,
    ref: str,
    *,
    reason: str,
    now: datetime,
    actor: str = "operator",
) -> PatternStats:
    """Remove the pattern's promoted rule (if any) and mark the pattern demoted: it is no
    candidate again until someone promotes it on purpose."""
    pattern = find_pattern(db, ref)
    rule_id = pattern.promoted_rule_id or rule_id_for(pattern)
    with _locked(home):
        rules = _read(home)
        kept = [r for r in rules if r.get("id") != rule_id]
        if len(kept) != len(rules):
            _write(home, kept)
    with transaction(db):
        db.execute(
            "UPDATE patterns SET demoted = 1, demoted_at = ?, demoted_reason = ?"
            " WHERE signature = ?",
            [iso(now), reason, pattern.signature],
        )
        _event(db, pattern, "demoted", rule_id, actor, reason, now)
    return find_pattern(db, pattern.signature)


def auto_demote(
    db: sqlite_utils.Database, home: Path, config: FlywheelConfig, now: datetime
) -> list[str]:
    """Demote every promoted rule whose failure rate as L1 passed the limit; one note each."""
    notes = []
    for pattern, reason in demotion_due(db, config):
        demote(db, home, pattern.signature, reason=reason, now=now, actor="auto")
        notes.append(f"demoted rule {pattern.promoted_rule_id}: {reason}")
    return notes


def events(db: sqlite_utils.Database, signature: str) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT event, rule_id, actor, reason, at FROM pattern_events WHERE signature = ?"
            " ORDER BY id",
            [signature],
        )
    )


def _event(
    db: sqlite_utils.Database,
    pattern: PatternStats,
    event: str,
    rule_id: str | None,
    actor: str,
    reason: str,
    now: datetime,
) -> None:
    db.execute(
        "INSERT INTO pattern_events (signature, event, rule_id, actor, reason, at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [pattern.signature, event, rule_id, actor, reason, iso(now)],
    )


def _shortfall(pattern: PatternStats, config: FlywheelConfig) -> str:
    if pattern.demoted:
        return f"demoted {pattern.demoted_at}: {pattern.demoted_reason}"
    rate = pattern.success_rate or 0.0
    return (
        f"{pattern.occurrences} measured of {config.min_occurrences}, {rate:.0%} good of"
        f" {config.min_success_rate:.0%}, {pattern.l2_successes} by L2 of"
        f" {config.min_l2_successes}"
    )


# --- the rules file ----------------------------------------------------------------


def promoted_path(home: Path) -> Path:
    return home / "rules" / PROMOTED_FILE


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    """One writer of promoted.yaml at a time (an operator's promote, heal's auto-demote)."""
    directory = home / "rules"
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".promoted.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _read(home: Path) -> list[dict[str, Any]]:
    path = promoted_path(home)
    if not path.exists():
        return []
    data, _ = load_yaml(path)
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise InputError("expected a mapping with a list 'rules'", file=path, line=1)
    return rules


def _write(
    home: Path,
    rules: list[dict[str, Any]],
    catalog: Catalog | None = None,
    runbooks: RunbookRegistry | None = None,
    builtin_dir: Path | None = None,
) -> None:
    """Replace promoted.yaml atomically; with a registry, only with a file that loads
    together with every other rule file (built-in and the site's)."""
    path = promoted_path(home)
    text = _HEADER + yaml.safe_dump({"rules": rules}, sort_keys=False, width=100)
    handle, temp_name = tempfile.mkstemp(prefix=".promoted.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if catalog is not None and runbooks is not None and builtin_dir is not None:
            others = [p for p in rule_files(builtin_dir, home) if p.name != PROMOTED_FILE]
            try:
                load_rules([*others, temp], catalog, runbooks)
            except InputError as exc:
                raise OsirisError(f"the promoted rule would not load: {exc}") from None
        os.chmod(temp, 0o644)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_dir(path.parent)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
