"""The Windows runbooks the WinRM twin simulates: firewall profiles, SMB1, the Guest
account and Remote Desktop NLA here; the rest in ``runbooks_network``,
``runbooks_policy`` and ``runbooks_system``, which importing this module registers.

Each function mirrors ``playbooks/windows/<id>.ps1`` step by step: the same settings,
the same conditions, the same printed lines (see ``runbook_base``).
"""

from __future__ import annotations

from datetime import datetime

from . import runbooks_network, runbooks_policy, runbooks_system
from .runbook_base import (
    RUNBOOK_MARKER,
    SIMULATIONS,
    RunbookFailure,
    Simulation,
    run_runbook,
    runbook_id,
    simulates,
)
from .state import WindowsState

__all__ = [
    "RUNBOOK_MARKER",
    "SIMULATIONS",
    "RunbookFailure",
    "Simulation",
    "run_runbook",
    "runbook_id",
    "runbooks_network",
    "runbooks_policy",
    "runbooks_system",
]


@simulates("windows_firewall_enable")
def _firewall_enable(state: WindowsState, now: datetime) -> list[str]:
    lines = []
    for profile in state.firewall_profiles:
        if not profile.Enabled:
            lines.append(f"changed: firewall profile {profile.Name} Enabled False -> True")
        if profile.DefaultInboundAction == "Allow":
            lines.append(
                f"changed: firewall profile {profile.Name} DefaultInboundAction Allow -> Block"
            )
    if not lines:
        return ["unchanged: every firewall profile was already on and blocking"]
    for profile in state.firewall_profiles:  # Set-NetFirewallProfile sets all three
        profile.Enabled, profile.DefaultInboundAction = True, "Block"
    return lines


@simulates("windows_smb1_disable")
def _smb1_disable(state: WindowsState, now: datetime) -> list[str]:
    lines = []
    if state.smb.EnableSMB1Protocol:
        state.smb.EnableSMB1Protocol = False
        lines.append("changed: SMB server EnableSMB1Protocol True -> False")
    start = state.smb.mrxsmb10_start
    if start is not None and start != 4:
        state.smb.mrxsmb10_start = 4
        lines.append(f"changed: SMB1 client driver mrxsmb10 Start {start} -> 4")
    return lines or ["unchanged: SMB1 was already off"]


@simulates("windows_guest_disable")
def _guest_disable(state: WindowsState, now: datetime) -> list[str]:
    accounts = state.accounts_with_rid(501)
    if not accounts:
        raise RunbookFailure(
            "no account with relative id 501 was found", near="throw 'no account with relative"
        )
    lines = []
    for account in accounts:
        if not account.Disabled:
            account.Disabled = True
            lines.append(f"changed: account {account.Name} Disabled False -> True")
    return lines or ["unchanged: the Guest account was already disabled"]


@simulates("windows_rdp_nla_require")
def _rdp_nla_require(state: WindowsState, now: datetime) -> list[str]:
    lines = []
    rdp = state.rdp
    if rdp.UserAuthentication != 1:
        lines.append(f"changed: RDP-Tcp UserAuthentication {rdp.UserAuthentication} -> 1")
        rdp.UserAuthentication = 1
    if rdp.policy_UserAuthentication is not None and rdp.policy_UserAuthentication != 1:
        lines.append(f"changed: policy UserAuthentication {rdp.policy_UserAuthentication} -> 1")
        rdp.policy_UserAuthentication = 1
    return lines or ["unchanged: Remote Desktop already requires Network Level Authentication"]
