# osiris:runbook windows_critical_services_start
# Starts the services every host must run (the site's required_services: Windows Event
# Log and Windows Defender Firewall by default) and, on a domain controller, the
# directory's (required_services_dc: NTDS, Kdc, Netlogon, DNS, W32Time), and makes them
# start automatically. Starting the firewall service applies
# the firewall rules again: osiris reconnects afterwards. A service that is not
# installed cannot be started: the script fails, naming it.
$ErrorActionPreference = 'Stop'
$names = @($osiris_required_services)
if ((Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole -ge 4) {
    $names += @($osiris_required_services_dc)
}
$changed = 0
$missing = @()
foreach ($name in $names) {
    $service = Get-Service -Name $name -ErrorAction SilentlyContinue
    if ($null -eq $service) {
        $missing += $name
        continue
    }
    if ([string]$service.StartType -ne 'Automatic') {
        if (-not $OsirisCheckMode) { Set-Service -Name $name -StartupType Automatic }
        "changed: $name StartType $($service.StartType) -> Automatic"
        $changed++
    }
    if ([string]$service.Status -ne 'Running') {
        if (-not $OsirisCheckMode) { Start-Service -Name $name }
        "changed: $name Status $($service.Status) -> Running"
        $changed++
    }
}
if ($missing.Count -gt 0) { throw "not installed, so not started: $($missing -join ', ')" }
if ($changed -eq 0) { 'unchanged: every required service is running and starts automatically' }
