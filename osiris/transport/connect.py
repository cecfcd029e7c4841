"""Choose the transport for a host."""

from __future__ import annotations

from osiris.model import Connection, Host
from osiris.transport.base import Transport, TransportOptions


def connect(host: Host, options: TransportOptions) -> Transport:
    """Open a transport to ``host``. Raises TransportError when it cannot."""
    if host.connection is Connection.LOCAL:
        from osiris.transport.local import LocalTransport

        return LocalTransport(become=host.become)
    if host.connection is Connection.SSH:
        from osiris.transport.ssh import SshTransport

        return SshTransport(host, options)
    from osiris.transport.winrm import WinrmTransport

    return WinrmTransport(host, options)
