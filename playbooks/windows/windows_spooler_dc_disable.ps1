# osiris:runbook windows_spooler_dc_disable
# Stops and disables the Print Spooler on a domain controller (PrintNightmare and the
# printer bug make a running spooler a path to domain admin). Where the practice's only
# server is also its print server, printing through it stops: hence the approval. On
# any other host it changes nothing.
$ErrorActionPreference = 'Stop'
if ((Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole -lt 4) {
    'unchanged: not a domain controller; the Print Spooler is left as it is'
} else {
    $service = Get-Service -Name Spooler -ErrorAction SilentlyContinue
    $changed = 0
    if ($null -ne $service -and [string]$service.Status -ne 'Stopped') {
        if (-not $OsirisCheckMode) { Stop-Service -Name Spooler -Force }
        "changed: Spooler Status $($service.Status) -> Stopped"
        $changed++
    }
    if ($null -ne $service -and [string]$service.StartType -ne 'Disabled') {
        if (-not $OsirisCheckMode) { Set-Service -Name Spooler -StartupType Disabled }
        "changed: Spooler StartType $($service.StartType) -> Disabled"
        $changed++
    }
    if ($changed -eq 0) { 'unchanged: the Print Spooler is already stopped and disabled' }
}
