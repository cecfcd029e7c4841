"""The lab a bench runs on: its own (started and stopped by the bench), or, with
``--running-lab``, the one already up (the test suite's session lab), which the bench
neither restarts nor stops. Benches that change a host take it by name (``--host``)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from osiris.model import Connection, Host, Platform, Role
from tests.lab import lab
from tests.lab.hosts import LabHost
from tests.lab.lab import LabState
from tests.lab.paths import CLIENT_KEY, KNOWN_HOSTS_FILE


def add_lab_options(parser: argparse.ArgumentParser) -> None:
    """``--quick``, ``--running-lab`` and ``--host``, the same in every lab bench."""
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, one round (the test suite's run)"
    )
    parser.add_argument(
        "--running-lab",
        action="store_true",
        help="use the lab already up (python -m tests.lab up); never start or stop one",
    )
    parser.add_argument("--host", help="the lab host to use, by name (default: the first)")


@contextmanager
def lab_for(running: bool, **up: int | str) -> Iterator[LabState]:
    """The running lab, or a fresh one (``lab.up(**up)``) torn down afterwards."""
    if running:
        state = LabState.load()
        if state is None:
            raise SystemExit("--running-lab, but no lab is up (python -m tests.lab up)")
        yield state
        return
    state = lab.up(**up)  # type: ignore[arg-type]
    try:
        yield state
    finally:
        lab.down()


def pick(state: LabState, name: str | None) -> LabHost:
    """The named lab host, or the first."""
    if name is None:
        return state.hosts[0]
    return state.host(name)


def as_osiris_host(host: LabHost) -> Host:
    """The lab host as the lab's inventory describes it (root, the lab's key, strict
    host keys), also for a host added to a running lab after its inventory was written."""
    return Host(
        host.name,
        host.address,
        Connection.SSH,
        Platform.LINUX,
        Role.SERVER,
        user="root",
        key_file=str(CLIENT_KEY),
        known_hosts=(str(KNOWN_HOSTS_FILE),),
    )
