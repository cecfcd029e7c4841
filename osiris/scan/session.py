"""A scan run from start to finish: run row, per-host writes, final status.

This is the only writer during a scan. Each host's outcome is committed as soon as it
arrives; Ctrl-C marks the run ``interrupted`` and keeps what was written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import sqlite_utils

from osiris.catalog.model import Check
from osiris.model import Host, HostOutcome
from osiris.scan.interpret import ThresholdsFor
from osiris.scan.runner import ScanSettings, scan_hosts
from osiris.store.runs import RunStatus, finish_run, record_host, start_run


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
    on_outcome: Callable[[HostOutcome], None] | None = None,
) -> ScanRun:
    run = ScanRun(
        start_run(
            db, engine=engine, inventory=inventory, host_count=len(hosts), check_count=len(checks)
        )
    )
    try:
        for outcome in _outcomes(engine, hosts, checks, thresholds_for, settings):
            record_host(db, run.run_id, outcome)
            run.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
    except KeyboardInterrupt:
        run.status = RunStatus.INTERRUPTED
        finish_run(db, run.run_id, run.status)
        raise
    except BaseException:
        run.status = RunStatus.FAILED
        finish_run(db, run.run_id, run.status)
        raise
    run.status = RunStatus.COMPLETE
    finish_run(db, run.run_id, run.status)
    return run


def _outcomes(
    engine: str,
    hosts: Sequence[Host],
    checks: Sequence[Check],
    thresholds_for: ThresholdsFor,
    settings: ScanSettings,
) -> Iterator[HostOutcome]:
    if engine == "ansible":
        from osiris.scan.ansible_engine import scan_hosts_with_ansible

        return iter(scan_hosts_with_ansible(hosts, checks, thresholds_for, settings))
    return scan_hosts(hosts, checks, thresholds_for, settings)
