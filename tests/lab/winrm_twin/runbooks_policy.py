"""Simulated runbooks for local and domain policy: the screen lock, the audit policy,
and the password and lockout policies.

Each ``Runbook`` holds the PowerShell a Windows host runs and the Python that applies the
same change to the twin's state, printing the same lines (see ``runbook_base``). Values
already stricter than the catalog's defaults are kept.
"""

from __future__ import annotations

from .components import AuditSubcategory
from .presets import AUDIT_GUIDS
from .runbook_base import Runbook, register, shown
from .state import WindowsState

SCREEN_LOCK_SECONDS = 900


def _set_screen_lock(state: WindowsState) -> list[str]:
    current = state.InactivityTimeoutSecs
    if current is not None and 0 < current <= SCREEN_LOCK_SECONDS:
        return [f"unchanged: InactivityTimeoutSecs is already {current}"]
    state.InactivityTimeoutSecs = SCREEN_LOCK_SECONDS
    return [f"changed: InactivityTimeoutSecs {shown(current) or 'unset'} -> {SCREEN_LOCK_SECONDS}"]


register(
    Runbook(
        id="set_screen_lock",
        fixes="win_screen_lock",
        apply=_set_screen_lock,
        script=r"""# osiris:runbook set_screen_lock
# Sets "Interactive logon: Machine inactivity limit" to 900 seconds when it is unset, 0
# or longer. It applies to every user of the host (HKLM), not to the account that runs
# this script.
$ErrorActionPreference = 'Stop'
$key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
$limit = 900
$item = Get-ItemProperty -Path $key -Name InactivityTimeoutSecs -ErrorAction SilentlyContinue
$current = $null
if ($null -ne $item) { $current = [int]$item.InactivityTimeoutSecs }
if ($null -ne $current -and $current -gt 0 -and $current -le $limit) {
    "unchanged: InactivityTimeoutSecs is already $current"
} else {
    Set-ItemProperty -Path $key -Name InactivityTimeoutSecs -Value $limit -Type DWord
    $before = 'unset'
    if ($null -ne $current) { $before = $current }
    "changed: InactivityTimeoutSecs $before -> $limit"
}
""",
    )
)

AUDITED = ("Credential Validation", "Logon", "User Account Management", "Removable Storage")


def _set_audit_policy(state: WindowsState) -> list[str]:
    rows = {row.Subcategory: row for row in state.audit_policy}
    lines = []
    wanted = dict.fromkeys(AUDITED, "Success and Failure")
    if state.domain_role >= 4:
        wanted["Directory Service Changes"] = "Success"
    for name, setting in wanted.items():
        row = rows.get(name)
        if row is None:
            row = AuditSubcategory(name, AUDIT_GUIDS[name], "No Auditing")
            state.audit_policy.append(row)
        if row.InclusionSetting in (setting, "Success and Failure"):
            continue
        lines.append(f"changed: {name} {row.InclusionSetting} -> {setting}")
        row.InclusionSetting = setting
    return lines or ["unchanged: every subcategory is already audited"]


register(
    Runbook(
        id="set_audit_policy",
        fixes="win_audit_policy",
        apply=_set_audit_policy,
        script=r"""# osiris:runbook set_audit_policy
# Audits Credential Validation, Logon, User Account Management and Removable Storage
# for success and failure, and on a domain controller Directory Service Changes for
# success. Subcategories are named by GUID (their names are localised). Where Group
# Policy sets an advanced audit policy, it wins at its next refresh: fix the GPO too.
$ErrorActionPreference = 'Stop'
$wanted = [ordered]@{
    '{0CCE923F-69AE-11D9-BED3-505054503030}' = @('Credential Validation', 'Success and Failure')
    '{0CCE9215-69AE-11D9-BED3-505054503030}' = @('Logon', 'Success and Failure')
    '{0CCE9235-69AE-11D9-BED3-505054503030}' = @('User Account Management', 'Success and Failure')
    '{0CCE9245-69AE-11D9-BED3-505054503030}' = @('Removable Storage', 'Success and Failure')
}
if ((Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole -ge 4) {
    $wanted['{0CCE923C-69AE-11D9-BED3-505054503030}'] = @('Directory Service Changes', 'Success')
}
$header = 'Machine', 'Target', 'Subcategory', 'Guid', 'Inclusion', 'Exclusion', 'Value'
$changed = 0
foreach ($guid in @($wanted.Keys)) {
    $name = $wanted[$guid][0]
    $setting = $wanted[$guid][1]
    $row = @(auditpol /get "/subcategory:$guid" /r | Where-Object { $_ } |
        ConvertFrom-Csv -Header $header) | Select-Object -Last 1
    $current = [string]$row.Inclusion
    if ($current -eq $setting -or $current -eq 'Success and Failure') { continue }
    if ($setting -eq 'Success') {
        $null = auditpol /set "/subcategory:$guid" /success:enable
    } else {
        $null = auditpol /set "/subcategory:$guid" /success:enable /failure:enable
    }
    if ($LASTEXITCODE -ne 0) { throw "auditpol /set failed for $name (exit code $LASTEXITCODE)" }
    "changed: $name $current -> $setting"
    $changed++
}
if ($changed -eq 0) { 'unchanged: every subcategory is already audited' }
""",
    )
)

# The secedit helper both account-policy runbooks use: [System Access] as a hashtable.
_READ_SYSTEM_ACCESS = r"""function Get-OsirisSystemAccess {
    $cfg = Join-Path $env:TEMP ('osiris-{0}.inf' -f [guid]::NewGuid())
    $access = @{}
    try {
        $null = secedit /export /cfg $cfg /areas SECURITYPOLICY /quiet
        if ($LASTEXITCODE -ne 0) { throw "secedit /export failed with exit code $LASTEXITCODE" }
        $inSection = $false
        foreach ($line in Get-Content -Path $cfg) {
            if ($line -match '^\s*\[(.+)\]\s*$') {
                $inSection = ($Matches[1] -eq 'System Access')
            } elseif ($inSection -and $line -match '^\s*(\w+)\s*=\s*(-?\d+)\s*$') {
                $access[$Matches[1]] = [int]$Matches[2]
            }
        }
    } finally {
        Remove-Item -Path $cfg -Force -ErrorAction SilentlyContinue
    }
    $access
}
function Set-OsirisSystemAccess($Wanted) {
    $inf = Join-Path $env:TEMP ('osiris-{0}.inf' -f [guid]::NewGuid())
    $db = Join-Path $env:TEMP ('osiris-{0}.sdb' -f [guid]::NewGuid())
    $lines = @('[Unicode]', 'Unicode=yes', '[System Access]')
    $lines += @(foreach ($name in @($Wanted.Keys)) { '{0} = {1}' -f $name, $Wanted[$name] })
    $lines += @('[Version]', 'signature="$CHICAGO$"', 'Revision=1')
    try {
        Set-Content -Path $inf -Value $lines -Encoding Unicode
        $null = secedit /configure /db $db /cfg $inf /areas SECURITYPOLICY /quiet
        if ($LASTEXITCODE -ne 0) { throw "secedit /configure failed with exit code $LASTEXITCODE" }
    } finally {
        Remove-Item -Path $inf, $db -Force -ErrorAction SilentlyContinue
    }
}
"""


def _changes(current: dict[str, int | None], wanted: dict[str, int]) -> list[str]:
    return [
        f"changed: {name} {shown(current.get(name))} -> {value}"
        for name, value in wanted.items()
        if current.get(name) != value
    ]


def _set_password_policy(state: WindowsState) -> list[str]:
    policy = state.security_policy
    current: dict[str, int | None] = dict(policy.system_access())
    wanted = {
        "MinimumPasswordLength": max(current.get("MinimumPasswordLength") or 0, 14),
        "PasswordComplexity": 1,
        "PasswordHistorySize": max(current.get("PasswordHistorySize") or 0, 24),
        "ClearTextPassword": 0,
    }
    lines = _changes(current, wanted)
    for name, value in wanted.items():
        setattr(policy, name, value)
    return lines or ["unchanged: the password policy already meets the defaults"]


register(
    Runbook(
        id="set_password_policy",
        fixes="win_password_policy",
        apply=_set_password_policy,
        script=r"""# osiris:runbook set_password_policy
# Raises the password policy to at least 14 characters, complexity on, 24 passwords
# remembered and no reversible encryption; stricter values stay. A domain controller
# changes the domain's default policy (Set-ADDefaultDomainPasswordPolicy); other hosts
# their local policy (secedit /configure), which a domain GPO overrides at its next
# refresh. Existing passwords keep working until they are next changed.
$ErrorActionPreference = 'Stop'
"""
        + _READ_SYSTEM_ACCESS
        + r"""$access = Get-OsirisSystemAccess
$wanted = [ordered]@{
    MinimumPasswordLength = [math]::Max([int]$access['MinimumPasswordLength'], 14)
    PasswordComplexity = 1
    PasswordHistorySize = [math]::Max([int]$access['PasswordHistorySize'], 24)
    ClearTextPassword = 0
}
$changes = @(foreach ($name in @($wanted.Keys)) {
    if ($access[$name] -ne $wanted[$name]) {
        "changed: $name $($access[$name]) -> $($wanted[$name])"
    }
})
if ($changes.Count -eq 0) {
    'unchanged: the password policy already meets the defaults'
} elseif ((Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole -ge 4) {
    $settings = @{
        Identity = (Get-ADDomain).DistinguishedName
        MinPasswordLength = $wanted.MinimumPasswordLength
        ComplexityEnabled = $true
        PasswordHistoryCount = $wanted.PasswordHistorySize
        ReversibleEncryptionEnabled = $false
    }
    Set-ADDefaultDomainPasswordPolicy @settings
    $changes
} else {
    Set-OsirisSystemAccess $wanted
    $changes
}
""",
    )
)

LOCKOUT_THRESHOLD = 5
LOCKOUT_MINUTES = 15


def _set_lockout_policy(state: WindowsState) -> list[str]:
    policy = state.security_policy
    current: dict[str, int | None] = dict(policy.system_access())
    bad_count = current.get("LockoutBadCount") or 0
    duration = current.get("LockoutDuration") or 0
    wanted = {
        "LockoutBadCount": bad_count if 0 < bad_count <= LOCKOUT_THRESHOLD else LOCKOUT_THRESHOLD,
        "LockoutDuration": duration if duration < 0 else max(duration, LOCKOUT_MINUTES),
        "ResetLockoutCount": max(current.get("ResetLockoutCount") or 0, LOCKOUT_MINUTES),
    }
    lines = _changes(current, wanted)
    for name, value in wanted.items():
        setattr(policy, name, value)
    return lines or ["unchanged: the lockout policy already meets the defaults"]


register(
    Runbook(
        id="set_lockout_policy",
        fixes="win_lockout",
        apply=_set_lockout_policy,
        script=r"""# osiris:runbook set_lockout_policy
# Locks an account after 5 failed logons (fewer stays) for at least 15 minutes, and
# resets the failure count after 15 minutes; a lockout until an administrator unlocks
# (-1) stays. A domain controller changes the domain's default policy; other hosts their
# local policy, which a domain GPO overrides at its next refresh.
$ErrorActionPreference = 'Stop'
"""
        + _READ_SYSTEM_ACCESS
        + r"""$access = Get-OsirisSystemAccess
$badCount = [int]$access['LockoutBadCount']
$duration = [int]$access['LockoutDuration']
$wanted = [ordered]@{
    LockoutBadCount = 5
    LockoutDuration = [math]::Max($duration, 15)
    ResetLockoutCount = [math]::Max([int]$access['ResetLockoutCount'], 15)
}
if ($badCount -gt 0 -and $badCount -le 5) { $wanted.LockoutBadCount = $badCount }
if ($duration -lt 0) { $wanted.LockoutDuration = $duration }
$changes = @(foreach ($name in @($wanted.Keys)) {
    if ($access[$name] -ne $wanted[$name]) {
        "changed: $name $($access[$name]) -> $($wanted[$name])"
    }
})
if ($changes.Count -eq 0) {
    'unchanged: the lockout policy already meets the defaults'
} elseif ((Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole -ge 4) {
    $lockedFor = [TimeSpan]::Zero
    if ($wanted.LockoutDuration -gt 0) {
        $lockedFor = New-TimeSpan -Minutes $wanted.LockoutDuration
    }
    $settings = @{
        Identity = (Get-ADDomain).DistinguishedName
        LockoutThreshold = $wanted.LockoutBadCount
        LockoutDuration = $lockedFor
        LockoutObservationWindow = New-TimeSpan -Minutes $wanted.ResetLockoutCount
    }
    Set-ADDefaultDomainPasswordPolicy @settings
    $changes
} else {
    Set-OsirisSystemAccess $wanted
    $changes
}
""",
    )
)
