# osiris:runbook windows_password_policy_set
# Raises the password policy to at least 14 characters, complexity on, 24 passwords
# remembered and no reversible encryption; stricter values stay. On a domain controller
# it changes the domain's policy (the Default Domain Policy GPO); on other hosts their
# local policy (secedit /configure), which a domain GPO overrides at its next refresh.
# Existing passwords keep working until they are next changed.
# Get-OsirisSystemAccess and Set-OsirisSystemAccess (secedit, the GPO) are in lib/osiris.ps1.
$ErrorActionPreference = 'Stop'
$access = Get-OsirisSystemAccess
$wanted = [ordered]@{
    MinimumPasswordLength = [math]::Max([int]$access['MinimumPasswordLength'], 14)
    PasswordComplexity = 1
    PasswordHistorySize = [math]::Max([int]$access['PasswordHistorySize'], 24)
    ClearTextPassword = 0
}
$changes = @(Get-OsirisSystemAccessChanges $access $wanted)
if ($changes.Count -eq 0) {
    'unchanged: the password policy already meets the defaults'
} else {
    if (-not $OsirisCheckMode) { Set-OsirisSystemAccess $wanted }
    $changes
}
