"""Session-scoped pytest fixtures for the lab. The lab is never skipped: a lab that
cannot start fails the tests that need it (and so fails CI).

- ``lab``: 3 systemd hosts (clean profile) and 3 WinRM twins (workstation, member
  server, DC), up for the whole session; torn down at the end (``OSIRIS_LAB_KEEP=1``
  keeps it for debugging; ``OSIRIS_LAB_WINDOWS=0`` leaves the twins out).
- ``fresh_host``: a pristine systemd host for one test, destroyed after it; drift it
  freely.
- ``lab_env``: the environment osiris needs to reach the lab (the twins' password).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from tests.lab import lab as lab_control
from tests.lab import twins
from tests.lab.hosts import LabHost
from tests.lab.lab import LabState

_names = itertools.count(1)


@pytest.fixture(scope="session")
def lab() -> Iterator[LabState]:
    lab_control.require_root()
    # OSIRIS_LAB_WINDOWS=0 leaves the twins out, for a quick local run of Linux-only tests
    windows = int(os.environ.get("OSIRIS_LAB_WINDOWS", "3"))
    state = lab_control.up(hosts=3, light=0, windows=windows, profile="clean")
    yield state
    if os.environ.get("OSIRIS_LAB_KEEP") != "1":
        lab_control.down()


@pytest.fixture
def fresh_host(lab: LabState) -> Iterator[LabHost]:
    name = f"t{next(_names)}"
    host = lab_control.add_host(name, profile="clean")
    yield host
    lab_control.remove_host(name)


@pytest.fixture(scope="session")
def lab_env(lab: LabState) -> dict[str, str]:
    return {twins.PASSWORD_ENV: twins.password()}
