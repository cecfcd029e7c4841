"""SIGINT and SIGTERM as one exception, and the few steps they must not cut in half.

:func:`install` (the CLI's first act) makes both signals raise :class:`Interrupted`, a
``KeyboardInterrupt``, so every ``except KeyboardInterrupt`` and ``finally`` that already
cleans up after Ctrl-C does the same for a service manager's SIGTERM. The first signal
raises; repeated ones are ignored while its clean-up runs (a second Ctrl-C must not leave
half of it done), and the third forces the process out with no clean-up at all.

Inside :func:`deferred` the first signal is only recorded, and raised when the block
ends: for steps that must finish once begun (publishing a file and removing its
temporary copy). :func:`hold` and :func:`release` do the same across the CLI's start
(imports, parsing the command line), so that the command itself, once started, meets
the interrupt and can report it. Once the outcome is final (the result is being
printed, the output file is in place), :func:`settle` makes signals change nothing, so
a late one cannot cut the output short or contradict it. Standard library only: it is
imported before anything else.

This is the default for every command. Work that runs in threads and child processes
(a scan's probes, a heal's scan) takes the two signals over for its duration with a
cancel token instead (:func:`osiris.transport.cancel.cancel_on_signals`), which stops
that work at points it chooses, and gives them back when it ends.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import ClassVar

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_FORCE_AFTER = 3  # signals; the third ends the process at once


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived. A ``KeyboardInterrupt`` (not an ``OsirisError``): no
    ``except Exception`` may swallow it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


class _State:
    received: ClassVar[list[int]] = []  # signals seen, in order
    depth = 0  # nested deferred() blocks, and hold()
    held = False  # between hold() and release()
    settled = False  # after settle(): the outcome is final, signals are only counted
    pending: int | None = None  # the first signal, recorded inside deferred()


def _handle(signum: int, frame: FrameType | None) -> None:
    _State.received.append(signum)
    count = len(_State.received)
    if count >= _FORCE_AFTER:
        os._exit(128 + signum)
    if count > 1 or _State.settled:
        return  # the first one's clean-up is running, or the work is done
    if _State.depth > 0:
        _State.pending = signum
        return
    raise Interrupted(signum)


def install() -> None:
    """SIGINT and SIGTERM raise :class:`Interrupted` from now on (main thread only)."""
    _State.received, _State.depth, _State.pending = [], 0, None
    _State.held = _State.settled = False
    for signum in SIGNALS:
        signal.signal(signum, _handle)


def hold() -> None:
    """Record signals from now on, until :func:`release`."""
    if not _State.held:
        _State.held = True
        _State.depth += 1


def release() -> None:
    """End :func:`hold` (nothing when not holding); raise a signal it recorded."""
    if _State.held:
        _State.held = False
        _State.depth -= 1
    if _State.depth == 0:
        check()


def received() -> int | None:
    """The first signal received since :func:`install`, or None."""
    return _State.received[0] if _State.received else None


@contextmanager
def deferred() -> Iterator[None]:
    """Run the block whole: a signal arriving inside it is raised when it ends."""
    outer = _State.depth
    _State.depth = outer + 1
    try:
        yield
    finally:
        _State.depth = outer
        if outer == 0 and not _State.held:
            check()


def settle() -> None:
    """The command's outcome is final (its result is being printed, or it has ended):
    from now on a signal is only counted, and the process ends as it was going to."""
    _State.settled = True
    _State.pending = None


def ignore() -> None:
    """Ignore SIGINT and SIGTERM: the process is exiting with its outcome printed. (Python
    puts back the default action, death by the signal, as it shuts down, unless the
    signal is ignored.)"""
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def check() -> None:
    """Raise now a signal :func:`deferred` has been holding (before a step that would
    rather not start, such as publishing a file, when the user asked to stop)."""
    if _State.pending is not None and not _State.settled:
        signum, _State.pending = _State.pending, None
        raise Interrupted(signum)


@contextmanager
def allowed() -> Iterator[None]:
    """Inside a :func:`deferred` block, a stretch that a signal may interrupt at once
    (the work itself, between the steps that must not be cut)."""
    outer = _State.depth
    _State.depth = 0
    try:
        if _State.pending is not None:
            signum, _State.pending = _State.pending, None
            raise Interrupted(signum)
        yield
    finally:
        _State.depth = outer
