"""The direct scan engine: a pool of worker threads, one bundle per host.

Workers only move bytes (connect, run the bundle, interpret). They hand each host's
outcome to the caller's thread, which is the only one that writes to the database.
Worker threads are daemons, so Ctrl-C returns at once; a host whose outcome was not
yet written is simply absent from an interrupted run.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from osiris.catalog.model import Check
from osiris.model import Host, HostOutcome
from osiris.scan.bundle import build_bundle, new_nonce
from osiris.scan.interpret import ThresholdsFor, interpret, split_applicable
from osiris.transport import CommandOutput, TransportError, TransportOptions, connect


@dataclass(frozen=True)
class ScanSettings:
    forks: int = 16
    timeout: float = 300.0  # per host, connect included
    transport: TransportOptions = field(default_factory=TransportOptions)


def run_bundle(host: Host, script: str, settings: ScanSettings) -> CommandOutput | TransportError:
    """Connect, run, close. Failures come back as values, not exceptions."""
    try:
        transport = connect(host, settings.transport)
    except TransportError as exc:
        return exc
    try:
        return transport.run(script, timeout=settings.timeout)
    except TransportError as exc:
        return exc
    finally:
        transport.close()


def check_connection(host: Host, options: TransportOptions, timeout: float = 30.0) -> str | None:
    """None when osiris reaches, trusts and logs in to ``host`` and its shell answers (an
    empty probe bundle: the very path a scan takes), else why not."""
    settings = ScanSettings(forks=1, timeout=timeout, transport=options)
    result = run_bundle(host, build_bundle(host.platform, [], new_nonce()), settings)
    if isinstance(result, TransportError):
        return str(result)
    if result.exit_code != 0:
        return f"the shell answered with exit {result.exit_code}: {result.stderr.strip()[:200]}"
    return None


def scan_host(
    host: Host, checks: Sequence[Check], thresholds_for: ThresholdsFor, settings: ScanSettings
) -> HostOutcome:
    started = time.monotonic()
    probed, skipped = split_applicable(host, checks)
    nonce = new_nonce()
    if probed:
        result = run_bundle(host, build_bundle(host.platform, probed, nonce), settings)
    else:
        result = CommandOutput("", "", 0)
    return interpret(
        host,
        probed,
        skipped,
        nonce,
        result,
        thresholds_for=thresholds_for,
        duration_ms=(time.monotonic() - started) * 1000,
    )


def scan_hosts(
    hosts: Sequence[Host],
    checks: Sequence[Check],
    thresholds_for: ThresholdsFor,
    settings: ScanSettings,
) -> Iterator[HostOutcome]:
    """Yield each host's outcome as it completes (in completion order)."""
    todo: queue.Queue[Host] = queue.Queue()
    for host in hosts:
        todo.put(host)
    done: queue.Queue[HostOutcome | BaseException] = queue.Queue()

    def work() -> None:
        while True:
            try:
                host = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put(scan_host(host, checks, thresholds_for, settings))
            except BaseException as exc:  # a bug, not a host problem: surface it
                done.put(exc)

    for _ in range(min(settings.forks, len(hosts))):
        threading.Thread(target=work, daemon=True, name="osiris-scan").start()
    for _ in hosts:
        item = done.get()
        if isinstance(item, BaseException):
            raise item
        yield item
