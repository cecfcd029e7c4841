# osiris:runbook windows_screen_lock_set
# Sets "Interactive logon: Machine inactivity limit" to $osiris_max_seconds (900) seconds when it is unset, 0
# or longer; a shorter limit stays. It applies to every user of the host (HKLM), not to
# the account that runs this script, from their next logon.
$ErrorActionPreference = 'Stop'
$key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
$limit = [int]$osiris_max_seconds
$item = Get-ItemProperty -Path $key -Name InactivityTimeoutSecs -ErrorAction SilentlyContinue
$current = $null
if ($null -ne $item) { $current = [int]$item.InactivityTimeoutSecs }
if ($null -ne $current -and $current -gt 0 -and $current -le $limit) {
    "unchanged: InactivityTimeoutSecs is already $current"
} else {
    if (-not $OsirisCheckMode) { Set-ItemProperty -Path $key -Name InactivityTimeoutSecs -Value $limit -Type DWord }
    $before = 'unset'
    if ($null -ne $current) { $before = $current }
    "changed: InactivityTimeoutSecs $before -> $limit"
}
