"""Running one runbook on one host, and checking what it did.

Linux runbooks run as Ansible playbooks through ansible-runner (a generated inventory, no
secret on disk, the private data dir removed after). Windows runbooks are PowerShell
sent over WinRM by osiris's own transport, after the shared lib and, when a lockout
guard is given, the prelude that arms it (osiris.heal.powershell). ``check_mode`` asks
Ansible for check mode with diffs, and a Windows runbook for its check mode: the
``changed:`` lines of what it would change are the diff.

Success is measured, never assumed: :func:`verify` re-runs the check on the host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osiris.ansible.inventory import generate
from osiris.ansible.runner import Outcome, run_playbook
from osiris.catalog.model import Check
from osiris.heal.guard import Guard
from osiris.heal.powershell import changes, runbook_script
from osiris.heal.runbooks import Runbook
from osiris.model import CheckResult, Host, Platform, Status
from osiris.scan.runner import ScanSettings, check_connection, scan_host
from osiris.transport import TransportError, TransportOptions, connect


@dataclass(frozen=True)
class RunOutcome:
    ok: bool  # it ran to the end without a failed task or a non-zero exit
    changed: bool | None  # None: not known (it did not run); check mode: would change
    detail: str  # the tail of its output, for the journal and the person reading it
    diff: str = ""  # check mode: what would change
    output: str = field(default="", repr=False)  # all of it, raw: the action's evidence


@dataclass(frozen=True)
class Recheck:
    """The check re-run on the host, and what the host printed for it (None: not
    reached), for the action's evidence."""

    result: CheckResult
    raw_output: bytes | None = field(default=None, repr=False)


def run_runbook(
    runbook: Runbook,
    host: Host,
    options: TransportOptions,
    *,
    check_mode: bool = False,
    guard: Guard | None = None,
    variables: Mapping[str, Any] | None = None,
    workdir: Path | None = None,
) -> RunOutcome:
    """Run ``runbook`` on ``host``. ``guard``: the lockout guard of this action (a Windows
    runbook arms it in its prelude; on Linux ``guard.arm`` has armed it already).
    ``variables``: what a playbook runs with beyond its own (osiris.heal.variables).
    ``workdir``: the playbook's private directory (made and removed by the run), where a
    later heal can find the run if this process dies (osiris.heal.action.runbook_dir)."""
    if runbook.spec.platform is Platform.WINDOWS:
        return _run_powershell(runbook, host, options, check_mode, guard, variables or {})
    return _run_playbook(runbook, host, options, check_mode, variables or {}, workdir)


def _run_playbook(
    runbook: Runbook,
    host: Host,
    options: TransportOptions,
    check_mode: bool,
    variables: Mapping[str, Any],
    workdir: Path | None,
) -> RunOutcome:
    run = run_playbook(
        runbook.playbook,
        generate([host], options),
        forks=1,
        timeout=runbook.spec.timeout,
        check=check_mode,
        diff=check_mode,
        extravars=dict(variables),
        private_dir=workdir,
    )
    results = run.for_host(host.name)
    failed = [r for r in results if r.outcome in (Outcome.FAILED, Outcome.UNREACHABLE)]
    changed = any(r.result.get("changed") for r in results)
    diff = "\n".join(_diff_text(r.result.get("diff")) for r in results if r.result.get("diff"))
    if failed or run.status != "successful":
        reasons = [str(r.result.get("msg", r.outcome)) for r in failed] or [run.output_tail[-500:]]
        detail = f"{run.status}: " + "; ".join(reasons)
        return RunOutcome(False, changed, detail, diff, run.output)
    return RunOutcome(True, changed, f"{len(results)} tasks, changed {changed}", diff, run.output)


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
    runbook: Runbook,
    host: Host,
    options: TransportOptions,
    check_mode: bool,
    guard: Guard | None,
    variables: Mapping[str, Any],
) -> RunOutcome:
    script = runbook_script(runbook, check_mode=check_mode, guard=guard, variables=variables)
    try:
        transport = connect(host, options)
        try:
            output = transport.run(script, timeout=runbook.spec.timeout)
        finally:
            transport.close()
    except TransportError as exc:
        return RunOutcome(False, None, str(exc), output=str(exc))
    text = (output.stdout + output.stderr).strip()
    changed = changes(output.stdout)
    detail = f"exit {output.exit_code}: {text[-1500:]}"
    diff = "\n".join(changed) if check_mode else ""
    return RunOutcome(
        output.exit_code == 0, bool(changed), detail, diff, output=output.stdout + output.stderr
    )


def verify(
    host: Host, check: Check, thresholds: Mapping[str, Any], settings: ScanSettings
) -> CheckResult:
    """The check, re-run on the host now: the only proof that a fix worked."""
    return recheck(host, check, thresholds, settings).result


def recheck(
    host: Host, check: Check, thresholds: Mapping[str, Any], settings: ScanSettings
) -> Recheck:
    """:func:`verify`, with the host's raw (PHI-scrubbed) probe output kept."""
    outcome = scan_host(host, [check], lambda _c: thresholds, settings)
    result = next(r for r in outcome.results if r.check_id == check.id)
    return Recheck(result, outcome.raw_output)


def reachable(host: Host, options: TransportOptions, timeout: float = 20.0) -> str | None:
    """None when osiris can still connect and run its probes, else why not."""
    return check_connection(host, options, timeout)


def passed(result: CheckResult) -> bool:
    return result.status is Status.PASS
