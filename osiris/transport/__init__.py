"""Transports move a script to a host and bring back its output; nothing more.

``connect(host, options)`` picks local subprocess, SSH (paramiko) or WinRM (pywinrm).
Every failure to reach, authenticate or trust a host is a :class:`TransportError`
with a :class:`FailureKind`, so the scan can record the host's checks as ``error``.
"""

from osiris.transport.base import (
    CommandOutput,
    FailureKind,
    Transport,
    TransportError,
    TransportOptions,
)
from osiris.transport.connect import connect

__all__ = [
    "CommandOutput",
    "FailureKind",
    "Transport",
    "TransportError",
    "TransportOptions",
    "connect",
]
