# osiris:runbook windows_password_policy_set
# Raises the password policy to at least $osiris_min_length characters (14 unless the
# site's threshold says more), complexity on, $osiris_min_history passwords (24)
# remembered and no reversible encryption; stricter values stay. On a domain controller
# it changes the domain's policy (the Default Domain Policy GPO); on other hosts their
# local policy (secedit /configure), which a domain GPO overrides at its next refresh.
# Existing passwords keep working until they are next changed.
# Get-OsirisSystemAccess and Set-OsirisSystemAccess (secedit, the GPO) are in lib/osiris.ps1.
$ErrorActionPreference = 'Stop'
$access = Get-OsirisSystemAccess
$wanted = [ordered]@{
    MinimumPasswordLength = [math]::Max([int]$access['MinimumPasswordLength'], [int]$osiris_min_length)
    PasswordComplexity = 1
    PasswordHistorySize = [math]::Max([int]$access['PasswordHistorySize'], [int]$osiris_min_history)
    ClearTextPassword = 0
}
$changes = @(Get-OsirisSystemAccessChanges $access $wanted)
if ($changes.Count -eq 0) {
    'unchanged: the password policy already meets the defaults'
} else {
    if (-not $OsirisCheckMode) { Set-OsirisSystemAccess $wanted }
    $changes
}
