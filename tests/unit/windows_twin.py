"""One in-process WinRM twin for unit tests: a real WS-Management server on 127.0.0.1
(HTTPS validated against a test CA, and HTTP with NTLM message encryption) that osiris's
real WinRM transport talks to, answering from whichever state file the test chooses.

The twin's clock is the test's (``Twin.clock``), so a test can let time pass (a lockout
guard's deadline) without sleeping; and it refuses new connections the way the host in
that state would (``WindowsHandler.admits``: WinRM service, listeners, firewall).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from osiris.model import Connection, Host, Platform, Secret
from osiris.transport.base import TransportOptions
from osiris.transport.winrm import WinrmTransport
from tests.lab.winrm_twin import TwinServer, issue_server_cert, make_ca
from tests.lab.winrm_twin.handler import WindowsHandler
from tests.lab.winrm_twin.presets import apply_drift, build_preset
from tests.lab.winrm_twin.runbook_cases import RunbookCase
from tests.lab.winrm_twin.state import OSIRIS_ROLES, TwinRole, WindowsState, now_utc

USER = "osiris"
PASSWORD = "Tw1n-Runb00k!"


class HostSwitch:
    """The twin's command handler and admission gate, on whichever state file the
    current case uses, with a clock the test moves."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.offset = timedelta()

    def now(self) -> datetime:
        return now_utc() + self.offset

    def handler(self) -> WindowsHandler:
        assert self.path is not None, "no state file chosen"
        return WindowsHandler(self.path, clock=self.now)

    def run(self, command: str, arguments: list[str]) -> tuple[str, str, int]:
        return self.run_with_stdin(command, arguments, b"")

    def run_with_stdin(
        self, command: str, arguments: list[str], stdin: bytes
    ) -> tuple[str, str, int]:
        return self.handler().run_with_stdin(command, arguments, stdin)

    def admits(self, scheme: str) -> bool:
        return self.path is None or self.handler().admits(scheme)


class Twin:
    """One Windows twin over HTTPS and HTTP, reached with osiris's WinRM transport."""

    def __init__(self, switch: HostSwitch, servers: dict[str, TwinServer], ca: Path) -> None:
        self._switch, self.servers, self._ca = switch, servers, ca

    def use(self, path: Path) -> None:
        """Answer from the state in ``path`` from now on, at the real time."""
        self._switch.path = path
        self._switch.offset = timedelta()

    def drifted(self, path: Path, case: RunbookCase) -> WindowsState:
        """Save a host of the case's role with its drifts in ``path`` and answer from it."""
        state = build_preset(case.role)
        for name in case.drifts:
            apply_drift(state, name)
        if case.setup is not None:
            case.setup(state)
        state.save(path)
        self.use(path)
        return WindowsState.load(path)

    def let_time_pass(self, seconds: float) -> None:
        """Move the twin's clock on (what Windows' task scheduler goes by)."""
        self._switch.offset += timedelta(seconds=seconds)

    def host(self, role: TwinRole, scheme: str = "https") -> Host:
        return Host(
            f"twin-{role}",
            "127.0.0.1",
            Connection.WINRM,
            Platform.WINDOWS,
            OSIRIS_ROLES[role],
            port=self.servers[scheme].port,
            user=USER,
            password=Secret(PASSWORD),
            winrm_scheme=scheme,
            winrm_ca_file=str(self._ca),
        )

    def transport(self, role: TwinRole, scheme: str) -> WinrmTransport:
        return WinrmTransport(self.host(role, scheme), TransportOptions())


@contextmanager
def running_twin(folder: Path) -> Iterator[Twin]:
    """Start the twin's HTTPS and HTTP servers (test CA in ``folder``); stop them after."""
    ca_cert, ca_key = make_ca(folder / "ca")
    cert, key = issue_server_cert(ca_cert, ca_key, folder / "server")
    switch = HostSwitch()
    servers = {
        "https": TwinServer(
            switch, username=USER, password=PASSWORD, tls=(cert, key), admit=switch.admits
        ).start(),
        "http": TwinServer(switch, username=USER, password=PASSWORD, admit=switch.admits).start(),
    }
    try:
        yield Twin(switch, servers, ca_cert)
    finally:
        for server in servers.values():
            server.stop()
