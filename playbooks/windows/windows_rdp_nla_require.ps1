# osiris:runbook windows_rdp_nla_require
# Requires Network Level Authentication for Remote Desktop: UserAuthentication 1 on the
# RDP-Tcp listener, and on the policy value when a policy sets it otherwise (a domain
# Group Policy that sets it back wins at its next refresh: fix the GPO too). Sessions
# already open are not touched; a client too old for NLA can no longer connect.
$ErrorActionPreference = 'Stop'
$changed = 0
$listener = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
$current = [int](Get-ItemProperty -Path $listener -Name UserAuthentication).UserAuthentication
if ($current -ne 1) {
    if (-not $OsirisCheckMode) { Set-ItemProperty -Path $listener -Name UserAuthentication -Value 1 -Type DWord }
    "changed: RDP-Tcp UserAuthentication $current -> 1"
    $changed++
}
$policy = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services'
$fromPolicy = Get-ItemProperty -Path $policy -Name UserAuthentication -ErrorAction SilentlyContinue
if ($null -ne $fromPolicy -and [int]$fromPolicy.UserAuthentication -ne 1) {
    if (-not $OsirisCheckMode) { Set-ItemProperty -Path $policy -Name UserAuthentication -Value 1 -Type DWord }
    "changed: policy UserAuthentication $([int]$fromPolicy.UserAuthentication) -> 1"
    $changed++
}
if ($changed -eq 0) { 'unchanged: Remote Desktop already requires Network Level Authentication' }
