# osiris:runbook windows_guest_disable
# Disables the built-in Guest account, found by its relative id 501 (it may be renamed).
# No person or service should log on as Guest, so nothing that works today stops.
$ErrorActionPreference = 'Stop'
$filter = "LocalAccount = TRUE AND SID LIKE 'S-1-5-21-%-501'"
$accounts = @(Get-CimInstance -ClassName Win32_UserAccount -Filter $filter)
if ($accounts.Count -eq 0) { throw 'no account with relative id 501 was found' }
$changed = 0
foreach ($account in $accounts) {
    if (-not $account.Disabled) {
        if (-not $OsirisCheckMode) { Set-CimInstance -InputObject $account -Property @{ Disabled = $true } }
        "changed: account $($account.Name) Disabled False -> True"
        $changed++
    }
}
if ($changed -eq 0) { 'unchanged: the Guest account was already disabled' }
