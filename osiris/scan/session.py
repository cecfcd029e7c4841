"""A scan run from start to finish: run row, per-host writes, final status, evidence.

This is the only writer during a scan. Each host's outcome is sealed into a signed
evidence bundle (in-toto statement in a DSSE envelope) and committed, with its result
rows, in one transaction as soon as it arrives; the run ends with a signed checkpoint
of the evidence log. A tripped cancel token (SIGINT, SIGTERM) marks the run
``interrupted`` and keeps what was written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import sqlite_utils

from osiris.catalog.model import Check
from osiris.evidence.bundle import seal_scan
from osiris.evidence.clock import system_clock
from osiris.evidence.keys import SiteSigner
from osiris.evidence.log import append_bundles, write_checkpoint
from osiris.model import Host, HostOutcome
from osiris.scan.interpret import ThresholdsFor
from osiris.scan.runner import ScanSettings, scan_hosts
from osiris.store.runs import RunStatus, finish_run, record_host, start_run
from osiris.transport.cancel import Cancel, Cancelled


@dataclass
class ScanRun:
    run_id: int
    status: RunStatus = RunStatus.RUNNING
    outcomes: list[HostOutcome] = field(default_factory=list)


def run_scan(
    db: sqlite_utils.Database,
    hosts: Sequence[Host],
    checks: Sequence[Check],
    thresholds_for: ThresholdsFor,
    settings: ScanSettings,
    *,
    engine: str = "direct",
    inventory: Sequence[str] = (),
    signer: SiteSigner,
    on_outcome: Callable[[HostOutcome], None] | None = None,
    cancel: Cancel | None = None,
) -> ScanRun:
    """Scan, record, and sign each host's outcome with ``signer`` (the site's key).

    When ``cancel`` trips, the run is finished as ``interrupted`` and returned (the
    status says so); a KeyboardInterrupt also marks it interrupted, and propagates."""
    run = ScanRun(
        start_run(
            db, engine=engine, inventory=inventory, host_count=len(hosts), check_count=len(checks)
        )
    )
    try:
        for outcome in _outcomes(engine, hosts, checks, thresholds_for, settings, cancel):
            bundle = seal_scan(
                signer, run.run_id, outcome, finished=datetime.now(UTC), clock=system_clock()
            )
            record_host(db, run.run_id, outcome, within=partial(append_bundles, db, [bundle]))
            run.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
    except Cancelled:
        _finish(db, run, RunStatus.INTERRUPTED, signer)
        return run
    except KeyboardInterrupt:
        _finish(db, run, RunStatus.INTERRUPTED, signer)
        raise
    except BaseException:
        _finish(db, run, RunStatus.FAILED, signer)
        raise
    _finish(db, run, RunStatus.COMPLETE, signer)
    return run


def _finish(db: sqlite_utils.Database, run: ScanRun, status: RunStatus, signer: SiteSigner) -> None:
    run.status = status
    finish_run(db, run.run_id, status)
    write_checkpoint(db, signer, run.run_id)


def _outcomes(
    engine: str,
    hosts: Sequence[Host],
    checks: Sequence[Check],
    thresholds_for: ThresholdsFor,
    settings: ScanSettings,
    cancel: Cancel | None,
) -> Iterator[HostOutcome]:
    if engine == "ansible":
        from osiris.scan.ansible_engine import scan_hosts_with_ansible

        return iter(scan_hosts_with_ansible(hosts, checks, thresholds_for, settings, cancel))
    return scan_hosts(hosts, checks, thresholds_for, settings, cancel)
