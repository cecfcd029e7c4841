"""Running one runbook on one host, and checking what it did.

Linux runbooks run as Ansible playbooks through ansible-runner (a generated inventory, no
secret on disk, the private data dir removed after). Windows runbooks are PowerShell
sent over WinRM by osiris's own transport. ``check_mode`` asks Ansible for check mode
with diffs; Windows runbooks have no check mode and are only described.

Success is measured, never assumed: :func:`verify` re-runs the check on the host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from osiris.ansible.inventory import generate
from osiris.ansible.runner import Outcome, run_playbook
from osiris.catalog.model import Check
from osiris.heal.runbooks import Runbook
from osiris.model import CheckResult, Host, Platform, Status
from osiris.scan.runner import ScanSettings, check_connection, scan_host
from osiris.transport import TransportError, TransportOptions, connect


@dataclass(frozen=True)
class RunOutcome:
    ok: bool  # it ran to the end without a failed task or a non-zero exit
    changed: bool | None  # None: not known (Windows)
    detail: str  # the tail of its output, for the journal and the person reading it
    diff: str = ""  # check mode: what would change


def run_runbook(
    runbook: Runbook, host: Host, options: TransportOptions, *, check_mode: bool = False
) -> RunOutcome:
    if runbook.spec.platform is Platform.WINDOWS:
        return _run_powershell(runbook, host, options, check_mode)
    return _run_playbook(runbook, host, options, check_mode)


def _run_playbook(
    runbook: Runbook, host: Host, options: TransportOptions, check_mode: bool
) -> RunOutcome:
    run = run_playbook(
        runbook.playbook,
        generate([host], options),
        forks=1,
        timeout=runbook.spec.timeout,
        check=check_mode,
        diff=check_mode,
    )
    results = run.for_host(host.name)
    failed = [r for r in results if r.outcome in (Outcome.FAILED, Outcome.UNREACHABLE)]
    changed = any(r.result.get("changed") for r in results)
    diff = "\n".join(_diff_text(r.result.get("diff")) for r in results if r.result.get("diff"))
    if failed or run.status != "successful":
        reasons = [str(r.result.get("msg", r.outcome)) for r in failed] or [run.output_tail[-500:]]
        return RunOutcome(False, changed, f"{run.status}: " + "; ".join(reasons), diff)
    return RunOutcome(True, changed, f"{len(results)} tasks, changed {changed}", diff)


def _diff_text(diff: Any) -> str:
    entries = diff if isinstance(diff, list) else [diff]
    parts = []
    for entry in entries:
        if isinstance(entry, Mapping):
            header = entry.get("after_header") or entry.get("before_header") or ""
            if "prepared" in entry:
                parts.append(str(entry["prepared"]))
            elif "before" in entry or "after" in entry:
                parts.append(f"--- {header}\n-{entry.get('before', '')}\n+{entry.get('after', '')}")
    return "\n".join(p for p in parts if p)


def _run_powershell(
    runbook: Runbook, host: Host, options: TransportOptions, check_mode: bool
) -> RunOutcome:
    assert runbook.script is not None
    if check_mode:
        return RunOutcome(
            True,
            None,
            f"would run {runbook.script.name} over WinRM (PowerShell runbooks have no check mode)",
        )
    try:
        transport = connect(host, options)
        try:
            output = transport.run(
                runbook.script.read_text(encoding="utf-8-sig"), timeout=runbook.spec.timeout
            )
        finally:
            transport.close()
    except TransportError as exc:
        return RunOutcome(False, None, str(exc))
    text = (output.stdout + output.stderr).strip()
    # runbooks print "changed: ..." or "unchanged: ..." per setting (not a substring test)
    changed = any(line.startswith("changed:") for line in output.stdout.splitlines())
    return RunOutcome(output.exit_code == 0, changed, f"exit {output.exit_code}: {text[-1500:]}")


def verify(
    host: Host, check: Check, thresholds: Mapping[str, Any], settings: ScanSettings
) -> CheckResult:
    """The check, re-run on the host now: the only proof that a fix worked."""
    outcome = scan_host(host, [check], lambda _c: thresholds, settings)
    return next(r for r in outcome.results if r.check_id == check.id)


def reachable(host: Host, options: TransportOptions, timeout: float = 20.0) -> str | None:
    """None when osiris can still connect and run its probes, else why not."""
    return check_connection(host, options, timeout)


def passed(result: CheckResult) -> bool:
    return result.status is Status.PASS
