"""The direct scan engine: a pool of worker threads, one bundle per host.

Workers only move bytes (connect, run the bundle, interpret). They hand each host's
outcome to the caller's thread, which is the only one that writes to the database.
A cancel token (tripped by SIGINT or SIGTERM, see transport/cancel.py) stops the probes
in flight on their hosts; a host whose probe was stopped is absent from the run.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum

from osiris.catalog.model import Check
from osiris.model import Host, HostOutcome
from osiris.scan.bundle import build_bundle, new_nonce
from osiris.scan.interpret import ThresholdsFor, interpret, split_applicable
from osiris.transport import CommandOutput, TransportError, TransportOptions, connect
from osiris.transport.cancel import Cancel, Cancelled

# how long an interrupted scan waits for its workers to stop their probes
STOP_GRACE = 1.5


@dataclass(frozen=True)
class ScanSettings:
    forks: int = 16
    timeout: float = 300.0  # per host, connect included
    transport: TransportOptions = field(default_factory=TransportOptions)


def run_bundle(
    host: Host, script: str, settings: ScanSettings, cancel: Cancel | None = None
) -> CommandOutput | TransportError:
    """Connect, run, close. Failures come back as values, not exceptions; a tripped
    ``cancel`` raises Cancelled (the probe was stopped: there is no outcome)."""
    try:
        transport = connect(host, settings.transport, cancel)
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
    host: Host,
    checks: Sequence[Check],
    thresholds_for: ThresholdsFor,
    settings: ScanSettings,
    cancel: Cancel | None = None,
) -> HostOutcome:
    started = time.monotonic()
    probed, skipped = split_applicable(host, checks)
    nonce = new_nonce()
    if probed:
        result = run_bundle(host, build_bundle(host.platform, probed, nonce), settings, cancel)
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
    cancel: Cancel | None = None,
) -> Iterator[HostOutcome]:
    """Yield each host's outcome as it completes (in completion order).

    When ``cancel`` trips, running probes are stopped (their hosts have no outcome),
    hosts not yet started are not started, outcomes that completed meanwhile are still
    yielded, and then Cancelled is raised. Workers that do not stop within
    ``STOP_GRACE`` (a connect in progress, a WinRM call) are abandoned: they are daemons.
    """
    cancel = cancel or Cancel()
    todo: queue.SimpleQueue[Host] = queue.SimpleQueue()
    for host in hosts:
        todo.put(host)
    # the one queue this thread waits on: workers' outcomes and ends, and the token's
    # wake-up (SimpleQueue.put is reentrant, so the signal handler may call it)
    done: queue.SimpleQueue[HostOutcome | BaseException | _Event] = queue.SimpleQueue()

    def work() -> None:
        try:
            while not cancel.is_set():
                try:
                    host = todo.get_nowait()
                except queue.Empty:
                    return
                done.put(scan_host(host, checks, thresholds_for, settings, cancel))
        except Cancelled:
            pass
        except BaseException as exc:  # a bug, not a host problem: surface it
            done.put(exc)
        finally:
            done.put(_Event.WORKER_DONE)

    def wake() -> None:
        done.put(_Event.CANCELLED)

    workers = min(settings.forks, len(hosts))
    for _ in range(workers):
        threading.Thread(target=work, daemon=True, name="osiris-scan").start()
    cancel.add_waker(wake)
    try:
        yield from _collect(done, workers)
    finally:
        cancel.remove_waker(wake)
    cancel.raise_if_set()


class _Event(Enum):
    WORKER_DONE = "worker done"
    CANCELLED = "cancelled"


def _collect(
    done: queue.SimpleQueue[HostOutcome | BaseException | _Event], workers: int
) -> Iterator[HostOutcome]:
    deadline: float | None = None
    while workers:
        try:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            item = done.get(timeout=wait)
        except queue.Empty:
            return  # the grace is over: leave the stragglers
        if item is _Event.CANCELLED:
            if deadline is not None:
                return  # asked twice: stop waiting at once
            deadline = time.monotonic() + STOP_GRACE
        elif item is _Event.WORKER_DONE:
            workers -= 1
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item
