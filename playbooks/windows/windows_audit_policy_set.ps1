# osiris:runbook windows_audit_policy_set
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
    if ($LASTEXITCODE -ne 0) { throw "auditpol /get failed for $name (exit code $LASTEXITCODE)" }
    $current = 'No Auditing'
    if ($null -ne $row -and $row.Inclusion) { $current = [string]$row.Inclusion }
    if ($current -eq $setting -or $current -eq 'Success and Failure') { continue }
    if (-not $OsirisCheckMode) {
        if ($setting -eq 'Success') {
            $null = auditpol /set "/subcategory:$guid" /success:enable
        } else {
            $null = auditpol /set "/subcategory:$guid" /success:enable /failure:enable
        }
        if ($LASTEXITCODE -ne 0) { throw "auditpol /set failed for $name (exit code $LASTEXITCODE)" }
    }
    "changed: $name $current -> $setting"
    $changed++
}
if ($changed -eq 0) { 'unchanged: every subcategory is already audited' }
