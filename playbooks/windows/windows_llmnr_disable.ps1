# osiris:runbook windows_llmnr_disable
# Sets the policy "Turn off multicast name resolution" (EnableMulticast 0). Names are
# then resolved by DNS only; nothing answers LLMNR queries for this host any more.
# Set-OsirisDword (lib/osiris.ps1) prints each change and, outside check mode, makes it.
$ErrorActionPreference = 'Stop'
$key = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\DNSClient'
$changes = @(Set-OsirisDword $key 'EnableMulticast' 0)
$changes
if ($changes.Count -eq 0) { 'unchanged: LLMNR is already off by policy' }
