# osiris:runbook windows_netbios_broadcast_disable
# Makes NetBIOS over TCP/IP a P-node (NetBT NodeType 2): NetBIOS names are resolved by a
# WINS server only, never by broadcast, so nothing on the network can answer a broadcast
# name query and capture credentials. DNS names are not affected. NetBT reads the value
# when it starts, at the next restart.
# Set-OsirisDword (lib/osiris.ps1) prints each change and, outside check mode, makes it.
$ErrorActionPreference = 'Stop'
$key = 'HKLM:\SYSTEM\CurrentControlSet\Services\NetBT\Parameters'
$changes = @(Set-OsirisDword $key 'NodeType' 2 'NetBT NodeType')
$changes
if ($changes.Count -eq 0) { 'unchanged: NetBT is already a P-node (NodeType 2)' }
