"""The transport contract shared by local, SSH and WinRM."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from osiris.errors import OsirisError


class FailureKind(StrEnum):
    UNREACHABLE = "unreachable"
    AUTH = "auth"
    HOST_KEY = "host_key"  # unknown or mismatching SSH host key, untrusted certificate
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"


class TransportError(OsirisError):
    """The host could not be reached, trusted or authenticated, or did not answer in time."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass(frozen=True)
class CommandOutput:
    stdout: str
    stderr: str
    exit_code: int


@dataclass(frozen=True)
class TransportOptions:
    """Site-wide connection settings (per-host ones live on :class:`Host`)."""

    known_hosts: tuple[str, ...] = ("~/.ssh/known_hosts",)
    accept_new_host_keys: bool = False
    connect_timeout: float = 10.0


class Transport(Protocol):
    def run(self, script: str, *, timeout: float) -> CommandOutput:
        """Run ``script`` (sh on Linux, PowerShell on Windows) and return its output."""
        ...

    def close(self) -> None: ...
