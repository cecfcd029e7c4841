# osiris:runbook windows_netbios_broadcast_disable
# Makes NetBIOS over TCP/IP a P-node (NetBT NodeType 2): NetBIOS names are resolved by a
# WINS server only, never by broadcast, so nothing on the network can answer a broadcast
# name query and capture credentials. DNS names are not affected. NetBT reads the value
# when it starts, at the next restart.
$ErrorActionPreference = 'Stop'
$key = 'HKLM:\SYSTEM\CurrentControlSet\Services\NetBT\Parameters'
$item = Get-ItemProperty -Path $key -Name NodeType -ErrorAction SilentlyContinue
$current = 'unset'
if ($null -ne $item) { $current = [int]$item.NodeType }
if ($current -eq 2) {
    'unchanged: NetBT is already a P-node (NodeType 2)'
} else {
    Set-ItemProperty -Path $key -Name NodeType -Value 2 -Type DWord
    "changed: NetBT NodeType $current -> 2"
}
