"""Parts of a simulated Windows host that decide whether osiris gets in over WinRM, and
osiris's lockout guard as it sits on the host.

A WinRM connection gets in when the WinRM service runs (``WindowsState.services``), a
listener serves its transport, and the firewall lets it through: the firewall profile of
the network osiris comes in on is off or allows inbound, or its service MpsSvc is
stopped, or the built-in WinRM rules are enabled (``guard.admits`` decides). The guard
(osiris/heal/guard_windows.ps1) is a scheduled task plus the state it saved under
HKLM\\SOFTWARE\\Osiris\\Guard\\<name>; ``guard.py`` arms, fires and disarms it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .components import Service
from .controls import FirewallProfile


@dataclass
class WinrmListener:
    """``Get-WSManInstance winrm/config/listener -Enumerate``, one listener."""

    Transport: str  # HTTP, HTTPS
    Port: int
    Address: str = "*"
    Hostname: str = ""
    CertificateThumbprint: str = ""


def _default_listeners() -> list[WinrmListener]:
    return [WinrmListener("HTTP", 5985), WinrmListener("HTTPS", 5986)]


@dataclass
class WinrmAccess:
    """The WinRM listeners and the firewall's view of WinRM."""

    listeners: list[WinrmListener] = field(default_factory=_default_listeners)
    # Get-NetFirewallRule -Name WINRM-HTTP-In-TCP* Enabled (the built-in rules, as one)
    rules_enabled: bool = True
    # twin knob: the firewall profile of the network osiris connects through
    # (Get-NetConnectionProfile NetworkCategory: DomainAuthenticated, Private, Public)
    network_profile: str = "Domain"


@dataclass
class GuardSave:
    """One armed guard: the task ``\\Osiris\\<Name>`` and what Register-OsirisGuard saved.

    ``saves`` lists the parts saved (firewall, winrm, accounts); parts not saved stay
    empty or None. ``NextRunTime`` is when the task runs the revert; ``Reverted`` is the
    mark the revert leaves for Unregister-OsirisGuard.
    """

    Name: str
    NextRunTime: str
    saves: list[str]
    profiles: list[FirewallProfile] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    listeners: list[WinrmListener] = field(default_factory=list)
    rules_enabled: bool | None = None
    local_users: list[str] = field(default_factory=list)  # SIDs of enabled local accounts
    # enabled AD users; by SamAccountName, as the twin's AD users carry no SID
    domain_users: list[str] = field(default_factory=list)
    Reverted: bool = False
