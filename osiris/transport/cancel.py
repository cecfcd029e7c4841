"""Stopping work in flight: a cancel token, and SIGINT/SIGTERM turned into one.

A signal must never raise at an arbitrary point of the program: a KeyboardInterrupt
inside a lock, a database transaction or a worker hand-off leaves the process hung or
half-written (a scan once ignored Ctrl-C for more than 30 s). So the handler only
*trips* the token, which is safe to do at any moment: it sets a flag, writes one byte to
a pipe (threads blocked in ``select`` on :meth:`Cancel.fileno` wake at once) and calls
the wakers that were registered for it, which must be reentrant themselves (for example
``queue.SimpleQueue.put``). The code that owns the work then stops at a point it chose.
Outside such work, the CLI's process-wide handlers apply (:mod:`osiris.interrupts`).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from types import FrameType

from osiris.errors import OsirisError

# the signals that end a command: Ctrl-C, and the polite stop of systemd, kill and CI runners
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Cancelled(OsirisError):
    """The work was stopped by a cancel token (a signal, or the caller's own decision).
    Raised where the work stops; the owner of the work catches it and records so."""

    def __init__(self, signum: int | None = None) -> None:
        self.signum = signum
        name = signal.Signals(signum).name if signum else "a cancel request"
        super().__init__(f"interrupted by {name}")


class Cancel:
    """A token that is tripped once and then stays tripped.

    ``fileno()`` becomes readable when the token trips, so a thread waiting in
    ``select`` on its own descriptors wakes without polling.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()  # both close-on-exec: children never see them
        os.set_blocking(self._write, False)
        self.signum: int | None = None
        self._tripped = False
        self._wakers: list[Callable[[], None]] = []

    def fileno(self) -> int:
        return self._read

    def is_set(self) -> bool:
        return self._tripped

    def trip(self, signum: int | None = None) -> None:
        """Cancel. Safe inside a signal handler: takes no lock, never blocks."""
        if not self._tripped:
            self.signum = signum
            self._tripped = True
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._write, b"!")
        for wake in tuple(self._wakers):
            wake()

    def add_waker(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` (reentrant, non-blocking) when the token trips, or now if it has."""
        self._wakers.append(wake)
        if self._tripped:
            wake()

    def remove_waker(self, wake: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._wakers.remove(wake)

    def raise_if_set(self) -> None:
        if self._tripped:
            raise Cancelled(self.signum)

    def __del__(self) -> None:
        # not earlier: a worker abandoned after a grace period may still select on it
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)


# the third signal ends the process at once (children still end: see supervisor.py)
_FORCE_AFTER = 3


@contextlib.contextmanager
def cancel_on_signals(token: Cancel | None = None) -> Iterator[Cancel]:
    """Within the block, SIGINT and SIGTERM trip ``token`` instead of raising (the
    previous handlers come back afterwards). The second one trips it again (waiters stop
    waiting for stragglers); the third exits with 128 + its number, no clean-up."""
    token = token or Cancel()
    received: list[int] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) >= _FORCE_AFTER:
            os._exit(128 + signum)
        token.trip(signum)

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield token
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
