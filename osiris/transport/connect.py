"""Choose the transport for a host."""

from __future__ import annotations

from osiris.model import Connection, Host
from osiris.transport.base import Transport, TransportOptions
from osiris.transport.cancel import Cancel


def connect(host: Host, options: TransportOptions, cancel: Cancel | None = None) -> Transport:
    """Open a transport to ``host``. Raises TransportError when it cannot, Cancelled
    when ``cancel`` trips: local and SSH runs then stop the probe on the host (WinRM
    runs are abandoned: the remote shell ends with its operation timeout)."""
    if host.connection is Connection.LOCAL:
        from osiris.transport.local import LocalTransport

        return LocalTransport(become=host.become, cancel=cancel)
    if host.connection is Connection.SSH:
        from osiris.transport.ssh import SshTransport

        return SshTransport(host, options, cancel)
    from osiris.transport.winrm import WinrmTransport

    return WinrmTransport(host, options)
