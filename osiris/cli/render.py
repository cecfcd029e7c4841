"""Tables for people and one JSON document for programs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from osiris.model import HostOutcome, Status

STATUS_STYLE = {
    Status.PASS: "green",
    Status.WARNING: "yellow",
    Status.FAIL: "red",
    Status.ERROR: "magenta",
    Status.NA: "dim",
}
SCAN_SCHEMA = "osiris.scan/v1"


def counts(outcome: HostOutcome) -> dict[str, int]:
    found = Counter(r.status for r in outcome.results)
    return {s.value: found.get(s, 0) for s in Status}


def summary_table(outcomes: Sequence[HostOutcome]) -> Table:
    table = Table(title="Scan summary", title_justify="left")
    table.add_column("host")
    for status in Status:
        table.add_column(status.value, justify="right", style=STATUS_STYLE[status])
    table.add_column("note")
    for outcome in sorted(outcomes, key=lambda o: o.host.name):
        n = counts(outcome)
        table.add_row(
            outcome.host.name, *(str(n[s.value]) for s in Status), Text(outcome.error or "")
        )
    return table


def findings_table(outcomes: Sequence[HostOutcome]) -> Table | None:
    rows = [
        (o.host.name, r)
        for o in sorted(outcomes, key=lambda o: o.host.name)
        for r in o.results
        if r.status in (Status.FAIL, Status.WARNING, Status.ERROR) and o.error is None
    ]
    if not rows:
        return None
    table = Table(title="Findings", title_justify="left")
    for column in ("host", "check", "status", "reason"):
        table.add_column(column)
    for host, result in rows:
        style = STATUS_STYLE[result.status]
        table.add_row(host, result.check_id, Text(result.status, style=style), Text(result.reason))
    return table


def print_human(console: Console, outcomes: Sequence[HostOutcome], run_id: int) -> None:
    console.print(summary_table(outcomes))
    findings = findings_table(outcomes)
    if findings is not None:
        console.print(findings)
    console.print(f"run {run_id}: details with `osiris results --run {run_id}`")


def scan_document(
    outcomes: Sequence[HostOutcome], *, run_id: int, status: str, site_id: str, exit_code: int
) -> dict[str, Any]:
    """The --json document of a scan (schema ``osiris.scan/v1``, see README)."""
    total: Counter[str] = Counter()
    hosts = []
    for outcome in sorted(outcomes, key=lambda o: o.host.name):
        n = counts(outcome)
        total.update(n)
        hosts.append(
            {
                "name": outcome.host.name,
                "address": outcome.host.address,
                "platform": outcome.host.platform.value,
                "role": outcome.host.role.value,
                "reached": outcome.error is None,
                "error": outcome.error,
                "counts": n,
                "results": [
                    {
                        "check_id": r.check_id,
                        "status": r.status.value,
                        "reason": r.reason,
                        "facts": r.facts,
                        "duration_ms": r.duration_ms,
                    }
                    for r in sorted(outcome.results, key=lambda r: r.check_id)
                ],
            }
        )
    return {
        "schema": SCAN_SCHEMA,
        "run_id": run_id,
        "site_id": site_id,
        "status": status,
        "exit_code": exit_code,
        "counts": {s.value: total.get(s.value, 0) for s in Status},
        "hosts": hosts,
    }


def exit_code_for(outcomes: Sequence[HostOutcome]) -> int:
    """2 if any check could not decide, else 1 if any finding, else 0."""
    statuses = {r.status for o in outcomes for r in o.results}
    if Status.ERROR in statuses:
        return 2
    if statuses & {Status.FAIL, Status.WARNING}:
        return 1
    return 0
