"""One `osiris heal`, start to end, and the shape of what it reports.

Reconcile what a dead heal left, scan, derive the incidents, load the snapshot, plan
(osiris.heal.plan: pure). A dry run then previews every planned fix in check mode
(osiris.heal.preview) and writes nothing but its scan: no incident, approval, action,
L2 call or escalation. A real heal writes the incidents, asks L2 and plans again with
its answers, records the plan's decisions (osiris.heal.apply), asks for a yes, runs each
fix (osiris.heal.action), signs a checkpoint, lets the flywheel demote, and sends the
L3 notices.

A file lock keeps two heals off one site. An interrupt (Ctrl-C, SIGTERM) stops the heal
where it is: the scan's run is marked interrupted if it was running, a runbook in
flight is ended with its directory (osiris.ansible.runner) and its action is left
journalled for the next heal to settle by re-checking, and the report says so.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlite_utils

from osiris.errors import OsirisError
from osiris.evidence.log import write_checkpoint
from osiris.heal import apply
from osiris.heal.action import ActionReport, act
from osiris.heal.escalation import Delivery, Escalated, deliver_pending
from osiris.heal.inputs import HealInputs
from osiris.heal.intent import Intent, IntentKind, Plan
from osiris.heal.plan import plan
from osiris.heal.preview import preview
from osiris.heal.promotion import auto_demote
from osiris.heal.reconcile import reconcile, unsettled
from osiris.heal.snapshot import Snapshot, load_snapshot
from osiris.heal.store import (
    Incident,
    incident_changes,
    incidents_after,
    live_incidents,
    sync_incidents,
)
from osiris.model import HostOutcome
from osiris.scan.session import run_scan
from osiris.transport.cancel import cancel_on_signals


class HealStatus(StrEnum):
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"  # SIGINT or SIGTERM: it stopped where it was


@dataclass
class HealReport:
    run_id: int | None = None  # the scan's run (None: interrupted before it started)
    plan: Plan = field(default_factory=Plan)
    actions: list[ActionReport] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)  # a dry run's: left to a real heal
    confirmed: bool = True
    demoted: list[str] = field(default_factory=list)  # promoted rules the flywheel demoted
    escalations: list[Escalated] = field(default_factory=list)  # L3, from this plan
    notices: Delivery = field(default_factory=Delivery)  # L3 notices sent at the end
    status: HealStatus = HealStatus.COMPLETE


Confirm = Callable[[Plan], bool]


@contextmanager
def heal_lock(home: Path) -> Iterator[None]:
    """One heal per site at a time; a second one stops with a clear error."""
    path = home / "heal.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise OsirisError(
                f"another heal is running on this site (pid {handle.read().strip()})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def heal(
    db: sqlite_utils.Database,
    home: Path,
    inputs: HealInputs,
    *,
    dry_run: bool,
    confirm: Confirm,
    report: HealReport | None = None,
) -> HealReport:
    """Heal (or, with ``dry_run``, preview) and report. ``report`` is filled as the heal
    goes, so what was done is known even when an interrupt stops it: then its status
    is ``interrupted`` and it is returned as it stands."""
    report = HealReport() if report is None else report
    with heal_lock(home):
        runs_before = _last_run(db)
        try:
            _heal(db, home, inputs, dry_run, confirm, report)
        except KeyboardInterrupt:
            report.status = HealStatus.INTERRUPTED
            if report.run_id is None:  # stopped in the scan, which marked its run
                report.run_id = _own_run_after(db, runs_before)
    return report


def _heal(
    db: sqlite_utils.Database,
    home: Path,
    inputs: HealInputs,
    dry_run: bool,
    confirm: Confirm,
    report: HealReport,
) -> None:
    if dry_run:
        report.unsettled = unsettled(db)
    else:
        report.reconciled = reconcile(db, inputs, home)
    # in the scan a signal trips a token: the scan stops its probes where it chooses
    # (osiris.scan.runner) and marks its run interrupted
    with cancel_on_signals() as cancel:
        run = run_scan(
            db,
            inputs.hosts,
            list(inputs.catalog),
            inputs.thresholds_for,
            inputs.settings,
            signer=inputs.signer,
            cancel=cancel,
        )
    report.run_id = run.run_id
    if cancel.is_set():
        raise KeyboardInterrupt(cancel.signum)
    now = datetime.now(UTC)
    incidents = _incidents(db, run.run_id, run.outcomes, now, dry_run)
    snapshot = _snapshot(db, incidents, inputs, now)
    report.plan = plan(snapshot)
    if dry_run:
        report.actions = preview(report.plan, inputs)
        return
    report.plan = apply.ask_l2(db, report.plan, snapshot, inputs.l2)
    report.plan, report.escalations = apply.record(
        db,
        report.plan,
        l2=inputs.l2,
        escalation=inputs.escalation,
        catalog=inputs.catalog,
        now=now,
    )
    heals = report.plan.of(IntentKind.HEAL)
    if heals and not confirm(report.plan):
        report.confirmed = False
        report.notices = _notify(db, inputs)
        return
    for intent in heals:
        report.actions.append(act(db, intent, inputs, home))
    if report.actions:  # a signed checkpoint covers the actions' evidence too
        write_checkpoint(db, inputs.signer, run.run_id)
    report.demoted = auto_demote(db, home, inputs.flywheel, datetime.now(UTC))
    report.notices = _notify(db, inputs)


def _incidents(
    db: sqlite_utils.Database,
    run_id: int,
    outcomes: list[HostOutcome],
    now: datetime,
    dry_run: bool,
) -> list[Incident]:
    """The live incidents after this scan: written by a real heal, derived in memory
    (the same way) by a dry run."""
    if dry_run:
        live = live_incidents(db)
        return incidents_after(live, incident_changes(live, outcomes), now)
    sync_incidents(db, run_id, outcomes, now)
    return live_incidents(db)


def _snapshot(
    db: sqlite_utils.Database, incidents: list[Incident], inputs: HealInputs, now: datetime
) -> Snapshot:
    return load_snapshot(
        db,
        incidents,
        hosts={h.name: h for h in inputs.hosts},
        rules=inputs.rules,
        runbooks=inputs.runbooks,
        config=inputs.config,
        l2=None if inputs.l2 is None else inputs.l2.config,
        now=now,
        drift_of=inputs.drift,
    )


def _notify(db: sqlite_utils.Database, inputs: HealInputs) -> Delivery:
    """Send the queued L3 notices, this heal's and any an earlier heal could not send.
    Never raises for a delivery problem (each is recorded and retried next time)."""
    return deliver_pending(
        db,
        inputs.escalation,
        datetime.now(UTC),
        site_id=inputs.signer.site_id,
        secrets_path=inputs.secrets_path,
    )


def _last_run(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()
    return int(row[0])


def _own_run_after(db: sqlite_utils.Database, after: int) -> int | None:
    """The run this process started after run ``after`` (a scan stopped midway)."""
    row = db.execute(
        "SELECT max(id) FROM runs WHERE id > ? AND pid = ?", [after, os.getpid()]
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def describe(intent: Intent) -> dict[str, Any]:
    incident = intent.incident
    return {
        "incident": incident.id if incident.id > 0 else None,  # None: a dry run's would-be one
        "host": incident.host,
        "check_id": incident.check_id,
        "status": incident.status.value,
        "decision": intent.kind.value,
        "reason": intent.reason,
        "rule": intent.rule.id if intent.rule else None,
        "runbook": intent.runbook.id if intent.runbook else None,
        "rail": None if intent.rail is None else intent.rail.value,
        "tier": intent.tier.value,
        "l2_call": intent.l2_call,
    }
