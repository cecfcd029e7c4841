"""The ansible scan engine: the same probe bundles, run by ``playbooks/scan.yml``.

For sites that must run everything through Ansible. Each host's bundle is built exactly
as the direct engine builds it, and runs under the same supervisor; only the transport
differs, so the results are the same (a lab test holds the two engines to that).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from osiris.ansible.inventory import generate
from osiris.ansible.runner import Outcome, PlaybookRun, run_playbook
from osiris.catalog.model import Check
from osiris.model import CheckResult, Connection, Host, HostOutcome, Platform
from osiris.scan.bundle import build_bundle, new_nonce
from osiris.scan.interpret import ThresholdsFor, interpret, split_applicable
from osiris.scan.runner import ScanSettings
from osiris.shipped import shipped_dir
from osiris.transport import CommandOutput, FailureKind, TransportError
from osiris.transport.cancel import Cancel, Cancelled
from osiris.transport.supervisor import embedded_supervisor


@dataclass(frozen=True)
class _HostPlan:
    host: Host
    probed: list[Check]
    skipped: list[CheckResult]
    nonce: str
    variable: str  # the extra var holding the path of this host's bundle file


def scan_hosts_with_ansible(
    hosts: Sequence[Host],
    checks: Sequence[Check],
    thresholds_for: ThresholdsFor,
    settings: ScanSettings,
    cancel: Cancel | None = None,
) -> list[HostOutcome]:
    started = time.monotonic()
    cancel = cancel or Cancel()
    plans = [_plan(index, host, checks) for index, host in enumerate(hosts)]
    files = {p.variable: _bundle_file(p) for p in plans}
    host_vars = {p.host.name: {"osiris_bundle": f"{{{{ {p.variable} }}}}"} for p in plans}
    cancel.raise_if_set()
    run = run_playbook(
        shipped_dir("playbooks") / "scan.yml",
        generate(hosts, settings.transport, host_vars=host_vars),
        forks=settings.forks,
        extravars={"osiris_timeout": int(settings.timeout)},
        files=files,
        cancelled=cancel.is_set,
    )
    # the token tripped while the playbook ran (ansible-runner ended it): "canceled" is a
    # signal, not a host problem; the token, one before it
    if run.status == "canceled" or cancel.is_set():
        raise Cancelled(cancel.signum)
    elapsed = (time.monotonic() - started) * 1000
    return [
        interpret(
            p.host,
            p.probed,
            p.skipped,
            p.nonce,
            _host_result(run, p.host.name),
            thresholds_for=thresholds_for,
            duration_ms=elapsed,
        )
        for p in plans
    ]


def _bundle_file(plan: _HostPlan) -> tuple[str, str]:
    """(file name, content): a Linux bundle goes under the supervisor, as the direct
    engine's does, so a stopped run stops the probe on the host (over SSH its lifeline
    is Ansible's pseudo-terminal; locally Ansible closes stdin at once, and its leash
    ends the local processes instead)."""
    bundle = build_bundle(plan.host.platform, plan.probed, plan.nonce)
    if plan.host.platform is Platform.WINDOWS:
        return f"{plan.variable}.ps1", bundle
    remote = plan.host.connection is not Connection.LOCAL
    return f"{plan.variable}.sh", embedded_supervisor(bundle, lifeline=remote)


def _plan(index: int, host: Host, checks: Sequence[Check]) -> _HostPlan:
    probed, skipped = split_applicable(host, checks)
    return _HostPlan(host, probed, skipped, new_nonce(), f"osiris_bundle_{index}")


def _host_result(run: PlaybookRun, host: str) -> CommandOutput | TransportError:
    results = run.for_host(host)
    if not results:
        last_line = run.output_tail.splitlines()[-1] if run.output_tail else ""
        return TransportError(
            FailureKind.PROTOCOL, f"ansible gave no result ({run.status}): {last_line}"
        )
    task = results[-1]
    if task.outcome is Outcome.UNREACHABLE:
        message = str(task.result.get("msg", "unreachable")).strip()
        return TransportError(_kind(message), message)
    if task.outcome is not Outcome.OK or "rc" not in task.result:
        return TransportError(FailureKind.PROTOCOL, str(task.result.get("msg", task.outcome)))
    return CommandOutput(
        str(task.result.get("stdout", "")),
        str(task.result.get("stderr", "")),
        int(task.result["rc"]),
    )


def _kind(message: str) -> FailureKind:
    lowered = message.lower()
    if "host key" in lowered:
        return FailureKind.HOST_KEY
    if "permission denied" in lowered or "authentication" in lowered:
        return FailureKind.AUTH
    if "timed out" in lowered or "timeout" in lowered:
        return FailureKind.TIMEOUT
    return FailureKind.UNREACHABLE
