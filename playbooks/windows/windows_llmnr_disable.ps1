# osiris:runbook windows_llmnr_disable
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
