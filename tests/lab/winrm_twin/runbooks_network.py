"""Simulated runbooks for network and service hardening: Remote Desktop NLA, LLMNR, SMB
signing, removable storage and the Print Spooler on domain controllers.

Each ``Runbook`` holds the PowerShell a Windows host runs and the Python that applies the
same change to the twin's state, printing the same lines (see ``runbook_base``).
"""

from __future__ import annotations

from .runbook_base import Runbook, register, shown
from .state import WindowsState


def _require_rdp_nla(state: WindowsState) -> list[str]:
    lines = []
    rdp = state.rdp
    if rdp.UserAuthentication != 1:
        lines.append(f"changed: RDP-Tcp UserAuthentication {rdp.UserAuthentication} -> 1")
        rdp.UserAuthentication = 1
    if rdp.policy_UserAuthentication is not None and rdp.policy_UserAuthentication != 1:
        lines.append(f"changed: policy UserAuthentication {rdp.policy_UserAuthentication} -> 1")
        rdp.policy_UserAuthentication = 1
    return lines or ["unchanged: Remote Desktop already requires Network Level Authentication"]


register(
    Runbook(
        id="require_rdp_nla",
        fixes="win_rdp_nla",
        apply=_require_rdp_nla,
        script=r"""# osiris:runbook require_rdp_nla
# Requires Network Level Authentication for Remote Desktop: UserAuthentication 1 on the
# RDP-Tcp listener, and on the policy value when a policy sets it otherwise (a domain
# Group Policy that sets it back wins at its next refresh: fix the GPO too). Sessions
# already open are not touched.
$ErrorActionPreference = 'Stop'
$changed = 0
$listener = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
$current = [int](Get-ItemProperty -Path $listener -Name UserAuthentication).UserAuthentication
if ($current -ne 1) {
    Set-ItemProperty -Path $listener -Name UserAuthentication -Value 1 -Type DWord
    "changed: RDP-Tcp UserAuthentication $current -> 1"
    $changed++
}
$policy = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services'
$fromPolicy = Get-ItemProperty -Path $policy -Name UserAuthentication -ErrorAction SilentlyContinue
if ($null -ne $fromPolicy -and [int]$fromPolicy.UserAuthentication -ne 1) {
    Set-ItemProperty -Path $policy -Name UserAuthentication -Value 1 -Type DWord
    "changed: policy UserAuthentication $([int]$fromPolicy.UserAuthentication) -> 1"
    $changed++
}
if ($changed -eq 0) { 'unchanged: Remote Desktop already requires Network Level Authentication' }
""",
    )
)


def _disable_llmnr(state: WindowsState) -> list[str]:
    if state.EnableMulticast == 0:
        return ["unchanged: LLMNR is already off by policy"]
    before = "unset" if state.EnableMulticast is None else str(state.EnableMulticast)
    state.EnableMulticast = 0
    return [f"changed: EnableMulticast {before} -> 0"]


register(
    Runbook(
        id="disable_llmnr",
        fixes="win_llmnr",
        apply=_disable_llmnr,
        script=r"""# osiris:runbook disable_llmnr
# Sets the policy "Turn off multicast name resolution" (EnableMulticast 0). Names are
# then resolved by DNS only; nothing answers LLMNR queries for this host any more.
$ErrorActionPreference = 'Stop'
$key = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\DNSClient'
$item = Get-ItemProperty -Path $key -Name EnableMulticast -ErrorAction SilentlyContinue
$current = 'unset'
if ($null -ne $item) { $current = [int]$item.EnableMulticast }
if ($current -eq 0) {
    'unchanged: LLMNR is already off by policy'
} else {
    if (-not (Test-Path -Path $key)) { $null = New-Item -Path $key -Force }
    Set-ItemProperty -Path $key -Name EnableMulticast -Value 0 -Type DWord
    "changed: EnableMulticast $current -> 0"
}
""",
    )
)


def _require_smb_signing(state: WindowsState) -> list[str]:
    lines = []
    for side, settings in (("server", state.smb), ("client", state.smb_client)):
        if not settings.RequireSecuritySignature:
            lines.append(f"changed: SMB {side} RequireSecuritySignature False -> True")
            settings.RequireSecuritySignature = settings.EnableSecuritySignature = True
    return lines or ["unchanged: the SMB server and client already require signing"]


register(
    Runbook(
        id="require_smb_signing",
        fixes="win_smb_signing",
        apply=_require_smb_signing,
        script=r"""# osiris:runbook require_smb_signing
# Requires SMB signing on the server and the client side. Every Windows version in
# support signs; an old NAS or scanner that cannot will no longer connect, so check the
# practice's devices first.
$ErrorActionPreference = 'Stop'
$changed = 0
if (-not (Get-SmbServerConfiguration).RequireSecuritySignature) {
    Set-SmbServerConfiguration -RequireSecuritySignature $true -EnableSecuritySignature $true -Force
    'changed: SMB server RequireSecuritySignature False -> True'
    $changed++
}
if (-not (Get-SmbClientConfiguration).RequireSecuritySignature) {
    Set-SmbClientConfiguration -RequireSecuritySignature $true -EnableSecuritySignature $true -Force
    'changed: SMB client RequireSecuritySignature False -> True'
    $changed++
}
if ($changed -eq 0) { 'unchanged: the SMB server and client already require signing' }
""",
    )
)


def _block_usb_storage(state: WindowsState) -> list[str]:
    policy, lines = state.usb_storage, []
    if policy.Deny_Write != 1:
        lines.append(f"changed: Deny_Write {shown(policy.Deny_Write) or 'unset'} -> 1")
        policy.Deny_Write = 1
    if policy.NoDriveTypeAutoRun != 255:
        before = shown(policy.NoDriveTypeAutoRun) or "unset"
        lines.append(f"changed: NoDriveTypeAutoRun {before} -> 255")
        policy.NoDriveTypeAutoRun = 255
    return lines or ["unchanged: removable disks are read-only and autorun is off"]


register(
    Runbook(
        id="block_usb_storage",
        fixes="win_usb_storage",
        apply=_block_usb_storage,
        script=r"""# osiris:runbook block_usb_storage
# Denies writing to removable disks (policy "Removable Disks: Deny write access") and
# turns autorun off for every drive type. Reading stays allowed, so staff can still
# bring documents in; a domain GPO that says otherwise wins at its next refresh.
$ErrorActionPreference = 'Stop'
function Set-OsirisDword([string]$Path, [string]$Name, [int]$Value) {
    $item = Get-ItemProperty -Path $Path -Name $Name -ErrorAction SilentlyContinue
    $current = 'unset'
    if ($null -ne $item) { $current = [int]$item.$Name }
    if ($current -ne $Value) {
        if (-not (Test-Path -Path $Path)) { $null = New-Item -Path $Path -Force }
        Set-ItemProperty -Path $Path -Name $Name -Value $Value -Type DWord
        "changed: $Name $current -> $Value"
    }
}
$storage = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices'
$explorer = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer'
$changes = @(
    Set-OsirisDword "$storage\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}" 'Deny_Write' 1
    Set-OsirisDword $explorer 'NoDriveTypeAutoRun' 255
)
$changes
if ($changes.Count -eq 0) { 'unchanged: removable disks are read-only and autorun is off' }
""",
    )
)


def _disable_spooler_dc(state: WindowsState) -> list[str]:
    if state.domain_role < 4:
        return ["unchanged: not a domain controller; the Print Spooler is left as it is"]
    spooler, lines = state.service("Spooler"), []
    if spooler is not None and spooler.Status != "Stopped":
        lines.append(f"changed: Spooler Status {spooler.Status} -> Stopped")
        spooler.Status = "Stopped"
    if spooler is not None and spooler.StartType != "Disabled":
        lines.append(f"changed: Spooler StartType {spooler.StartType} -> Disabled")
        spooler.StartType = "Disabled"
    return lines or ["unchanged: the Print Spooler is already stopped and disabled"]


register(
    Runbook(
        id="disable_spooler_dc",
        fixes="win_spooler_dc",
        apply=_disable_spooler_dc,
        script=r"""# osiris:runbook disable_spooler_dc
# Stops and disables the Print Spooler on a domain controller, which does not print.
# On any other host it changes nothing.
$ErrorActionPreference = 'Stop'
if ((Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole -lt 4) {
    'unchanged: not a domain controller; the Print Spooler is left as it is'
} else {
    $service = Get-Service -Name Spooler -ErrorAction SilentlyContinue
    $changed = 0
    if ($null -ne $service -and [string]$service.Status -ne 'Stopped') {
        Stop-Service -Name Spooler -Force
        "changed: Spooler Status $($service.Status) -> Stopped"
        $changed++
    }
    if ($null -ne $service -and [string]$service.StartType -ne 'Disabled') {
        Set-Service -Name Spooler -StartupType Disabled
        "changed: Spooler StartType $($service.StartType) -> Disabled"
        $changed++
    }
    if ($changed -eq 0) { 'unchanged: the Print Spooler is already stopped and disabled' }
}
""",
    )
)
