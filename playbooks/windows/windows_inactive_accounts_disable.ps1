# osiris:runbook windows_inactive_accounts_disable
# Disables enabled user accounts whose last logon is more than $osiris_fail_days (90) days ago: local
# accounts, or on a domain controller the domain's users. It never disables the
# built-in Administrator (relative id 500, the way back in), the account running this
# script, or an account that has never logged on (a new hire or a service account: the
# check warns about those for a person to decide). A person who comes back needs an
# administrator to enable the account again, hence the approval.
$ErrorActionPreference = 'Stop'
$days = [int]$osiris_fail_days
$now = Get-Date
$me = [Security.Principal.WindowsIdentity]::GetCurrent().User.Value
$changed = 0
if ((Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole -ge 4) {
    $idle = New-TimeSpan -Days $days
    $stale = @(Search-ADAccount -AccountInactive -UsersOnly -TimeSpan $idle | Where-Object {
        $_.Enabled -and $_.LastLogonDate -and $_.SID.Value -ne $me -and $_.SID.Value -notmatch '-500$'
    })
    foreach ($user in $stale) {
        if (-not $OsirisCheckMode) { Disable-ADAccount -Identity $user.DistinguishedName }
        $age = [int][math]::Floor(($now - $user.LastLogonDate).TotalDays)
        "changed: domain account $($user.SamAccountName) (last logon $age days ago) Enabled True -> False"
        $changed++
    }
} else {
    $stale = @(Get-LocalUser | Where-Object {
        $_.Enabled -and $_.LastLogon -and ($now - $_.LastLogon).TotalDays -gt $days -and
        $_.SID.Value -ne $me -and $_.SID.Value -notmatch '-500$'
    })
    foreach ($user in $stale) {
        if (-not $OsirisCheckMode) { Disable-LocalUser -SID $user.SID }
        $age = [int][math]::Floor(($now - $user.LastLogon).TotalDays)
        "changed: local account $($user.Name) (last logon $age days ago) Enabled True -> False"
        $changed++
    }
}
if ($changed -eq 0) { "unchanged: no enabled account has been idle for more than $days days" }
