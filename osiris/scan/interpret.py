"""From one host's bundle output (or transport failure) to its check results."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from osiris.catalog.evaluate import evaluate
from osiris.catalog.model import Check
from osiris.model import CheckResult, Host, HostOutcome, Status
from osiris.privacy.scrub import scrub
from osiris.scan.bundle import ProbeOutput, parse_output
from osiris.transport import CommandOutput, TransportError

ThresholdsFor = Callable[[Check], Mapping[str, Any]]


def split_applicable(host: Host, checks: Sequence[Check]) -> tuple[list[Check], list[CheckResult]]:
    """Checks to probe on ``host``, and ``na`` results for those its role excludes."""
    probed, skipped = [], []
    for check in checks:
        if check.platform is not host.platform:
            continue
        if check.applies_to(host.role):
            probed.append(check)
        else:
            roles = ", ".join(check.spec.applies.roles)
            skipped.append(
                CheckResult(
                    host.name,
                    check.id,
                    Status.NA,
                    f"applies to {roles}; this host is a {host.role}",
                )
            )
    return probed, skipped


def interpret(
    host: Host,
    probed: Sequence[Check],
    skipped: Sequence[CheckResult],
    nonce: str,
    result: CommandOutput | TransportError,
    *,
    thresholds_for: ThresholdsFor,
    duration_ms: float,
) -> HostOutcome:
    """Every probed and skipped check gets exactly one result; nothing passes unseen."""
    if isinstance(result, TransportError):
        reason = f"host not scanned: {result}"
        errors = [
            CheckResult(host.name, c.id, Status.ERROR, reason, probe_digest=c.probe_digest)
            for c in probed
        ]
        return HostOutcome(host, (*errors, *skipped), error=str(result), duration_ms=duration_ms)
    outputs = parse_output(result.stdout, nonce, [c.id for c in probed])
    results = [_result(host, c, outputs[c.id], thresholds_for(c)) for c in probed]
    return HostOutcome(
        host,
        (*results, *skipped),
        duration_ms=duration_ms,
        raw_output=scrub(result.stdout).encode(),
    )


def _result(
    host: Host, check: Check, output: ProbeOutput, thresholds: Mapping[str, Any]
) -> CheckResult:
    def made(status: Status, reason: str, facts: dict[str, Any] | None = None) -> CheckResult:
        return CheckResult(
            host.name,
            check.id,
            status,
            reason,
            facts=facts,
            duration_ms=output.elapsed_ms,
            probe_digest=check.probe_digest,
        )

    if output.missing is not None:
        status = Status(check.spec.applies.when_missing)
        return made(status, f"required command '{output.missing}' is not installed")
    if output.facts is None:
        return made(Status.ERROR, output.error or "no output")
    status, reason = evaluate(check, output.facts, thresholds)
    return made(status, reason, output.facts)
