# osiris:runbook windows_lockout_policy_set
# Locks an account after $osiris_max_bad_count failed logons (5; fewer stays) and resets the
# failure count after $osiris_min_duration_minutes minutes (15; longer stays); a locked account unlocks after at least that long,
# unless it already waits for an administrator (0 or -1). On a domain controller it
# changes the domain's policy (the Default Domain Policy GPO); on other hosts their
# local policy, which a domain GPO overrides at its next refresh.
# Get-OsirisSystemAccess and Set-OsirisSystemAccess (secedit, the GPO) are in lib/osiris.ps1.
$ErrorActionPreference = 'Stop'
$access = Get-OsirisSystemAccess
$badCount = [int]$access['LockoutBadCount']
$reset = [math]::Max([int]$access['ResetLockoutCount'], [int]$osiris_min_duration_minutes)
$duration = $access['LockoutDuration']
if ($null -eq $duration) {
    $duration = $reset
} elseif ($duration -gt 0) {
    $duration = [math]::Max([int]$duration, $reset)
}
if ($badCount -le 0 -or $badCount -gt $osiris_max_bad_count) { $badCount = [int]$osiris_max_bad_count }
$wanted = [ordered]@{
    LockoutBadCount = $badCount
    LockoutDuration = $duration
    ResetLockoutCount = $reset
}
$changes = @(Get-OsirisSystemAccessChanges $access $wanted)
if ($changes.Count -eq 0) {
    'unchanged: the lockout policy already meets the defaults'
} else {
    if (-not $OsirisCheckMode) { Set-OsirisSystemAccess $wanted }
    $changes
}
