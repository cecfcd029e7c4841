"""Windows runbooks the WinRM twin simulates: firewall profiles, SMB1 and the Guest
account. The registry and the simulation are described in ``runbook_base``; importing
this module also registers the runbooks of ``runbooks_network`` and ``runbooks_policy``.

The real runbook files come later (playbooks/); they only need their marker line and an
entry here with the same id to be simulated.
"""

from __future__ import annotations

from . import runbooks_network, runbooks_policy
from .runbook_base import RUNBOOK_MARKER, RUNBOOKS, Runbook, register
from .state import WindowsState

__all__ = ["RUNBOOKS", "RUNBOOK_MARKER", "Runbook", "runbooks_network", "runbooks_policy"]


def _enable_firewall_profiles(state: WindowsState) -> list[str]:
    lines = []
    for profile in state.firewall_profiles:
        if not profile.Enabled:
            lines.append(f"changed: firewall profile {profile.Name} Enabled False -> True")
        if profile.DefaultInboundAction == "Allow":
            lines.append(
                f"changed: firewall profile {profile.Name} DefaultInboundAction Allow -> Block"
            )
        profile.Enabled, profile.DefaultInboundAction = True, "Block"
    return lines or ["unchanged: every firewall profile was already on and blocking"]


register(
    Runbook(
        id="enable_firewall_profiles",
        fixes="win_firewall",
        apply=_enable_firewall_profiles,
        script=r"""# osiris:runbook enable_firewall_profiles
# Turns the Domain, Private and Public firewall profiles on and makes them block inbound
# traffic that no rule allows. A Group Policy that turns a profile off still wins.
$ErrorActionPreference = 'Stop'
$names = 'Domain', 'Private', 'Public'
$changed = 0
foreach ($fw in @(Get-NetFirewallProfile -Name $names)) {
    if ([string]$fw.Enabled -ne 'True') {
        "changed: firewall profile $($fw.Name) Enabled False -> True"
        $changed++
    }
    if ([string]$fw.DefaultInboundAction -eq 'Allow') {
        "changed: firewall profile $($fw.Name) DefaultInboundAction Allow -> Block"
        $changed++
    }
}
Set-NetFirewallProfile -Name $names -Enabled True -DefaultInboundAction Block
if ($changed -eq 0) { 'unchanged: every firewall profile was already on and blocking' }
""",
    )
)


def _disable_smb1(state: WindowsState) -> list[str]:
    lines = []
    if state.smb.EnableSMB1Protocol:
        state.smb.EnableSMB1Protocol = False
        lines.append("changed: SMB server EnableSMB1Protocol True -> False")
    start = state.smb.mrxsmb10_start
    if start is not None and start != 4:
        state.smb.mrxsmb10_start = 4
        lines.append(f"changed: SMB1 client driver mrxsmb10 Start {start} -> 4")
    return lines or ["unchanged: SMB1 was already off"]


register(
    Runbook(
        id="disable_smb1",
        fixes="win_smbv1",
        apply=_disable_smb1,
        script=r"""# osiris:runbook disable_smb1
# Stops the SMB server accepting SMB1 and disables the SMB1 client driver (the driver
# change takes effect after a restart).
$ErrorActionPreference = 'Stop'
$changed = 0
if ((Get-SmbServerConfiguration).EnableSMB1Protocol) {
    # splatted: tree-sitter-powershell cannot parse a parameter name with a digit
    $settings = @{ EnableSMB1Protocol = $false; Force = $true }
    Set-SmbServerConfiguration @settings
    'changed: SMB server EnableSMB1Protocol True -> False'
    $changed++
}
$driver = 'HKLM:\SYSTEM\CurrentControlSet\Services\mrxsmb10'
if (Test-Path -Path $driver) {
    $start = [int](Get-ItemProperty -Path $driver -Name Start).Start
    if ($start -ne 4) {
        $null = sc.exe config lanmanworkstation depend= bowser/mrxsmb20/nsi
        $null = sc.exe config mrxsmb10 start= disabled
        "changed: SMB1 client driver mrxsmb10 Start $start -> 4"
        $changed++
    }
}
if ($changed -eq 0) { 'unchanged: SMB1 was already off' }
""",
    )
)


def _disable_guest(state: WindowsState) -> list[str]:
    lines = []
    for account in state.accounts_with_rid(501):
        if not account.Disabled:
            account.Disabled = True
            lines.append(f"changed: account {account.Name} Disabled False -> True")
    return lines or ["unchanged: the Guest account was already disabled"]


register(
    Runbook(
        id="disable_guest",
        fixes="win_guest_disabled",
        apply=_disable_guest,
        script=r"""# osiris:runbook disable_guest
# Disables the built-in Guest account, found by its relative id 501 (it may be renamed).
$ErrorActionPreference = 'Stop'
$filter = "LocalAccount = TRUE AND SID LIKE 'S-1-5-21-%-501'"
$changed = 0
foreach ($account in @(Get-CimInstance -ClassName Win32_UserAccount -Filter $filter)) {
    if (-not $account.Disabled) {
        Set-CimInstance -InputObject $account -Property @{ Disabled = $true }
        "changed: account $($account.Name) Disabled False -> True"
        $changed++
    }
}
if ($changed -eq 0) { 'unchanged: the Guest account was already disabled' }
""",
    )
)
