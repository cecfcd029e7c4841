"""A port that accepts TCP but speaks no SSH: one clear TransportError, nothing on stderr.

Real listeners on loopback (tests/tcp_servers.py); tests/cli/test_scan_targets.py drives
the same through the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from osiris.model import Connection, Host, Platform, Role
from osiris.transport import FailureKind, TransportError, TransportOptions
from osiris.transport.ssh import SshTransport
from tests.tcp_servers import NOT_SSH, serving


@pytest.fixture(params=sorted(NOT_SSH))
def not_ssh(request: pytest.FixtureRequest) -> Iterator[int]:
    with serving(NOT_SSH[request.param]) as port:
        yield port


def test_no_ssh_banner_is_named_with_host_and_port(
    not_ssh: int,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Before: "unreachable: Error reading SSH protocol banner" or "No existing session",
    and paramiko's traceback printed on stderr by Python's last-resort log handler."""
    host = Host(
        name="web",
        address="127.0.0.1",
        port=not_ssh,
        connection=Connection.SSH,
        platform=Platform.LINUX,
        role=Role.SERVER,
        user="root",
    )
    with pytest.raises(TransportError) as error:
        SshTransport(host, TransportOptions(connect_timeout=2))
    assert error.value.kind is FailureKind.PROTOCOL
    assert error.value.message == f"no SSH banner from 127.0.0.1:{not_ssh}"
    assert capfd.readouterr().err == ""
