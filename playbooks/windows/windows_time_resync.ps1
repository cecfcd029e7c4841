# osiris:runbook windows_time_resync
# Gets the Windows Time service synchronising again: starts it if it is stopped (and
# lets it start automatically where it was disabled), points a clock that runs on its
# own (Local CMOS Clock, Free-running System Clock) at the domain hierarchy, or on the
# domain's primary domain controller and on hosts outside a domain at time.windows.com,
# then resynchronises when the last good synchronisation is over an hour old or the
# clock is more than a second off. A clock that follows the virtualisation host is
# left as it is.
$ErrorActionPreference = 'Stop'
$changed = 0
$service = Get-Service -Name W32Time
if ([string]$service.StartType -eq 'Disabled') {
    if (-not $OsirisCheckMode) { Set-Service -Name W32Time -StartupType Automatic }
    'changed: W32Time StartType Disabled -> Automatic'
    $changed++
}
if ([string]$service.Status -ne 'Running') {
    "changed: W32Time Status $($service.Status) -> Running"
    $changed++
    if ($OsirisCheckMode) {
        # w32tm answers only once the service runs; a started service always resyncs
        'changed: clock resynchronised'
        return
    }
    Start-Service -Name W32Time
}
$source = (@(w32tm /query /source) -join ' ').Trim()
if ($LASTEXITCODE -ne 0) { throw "w32tm /query /source failed with exit code ${LASTEXITCODE}: $source" }
if ($source -match '^(Local CMOS Clock|Free-running System Clock)') {
    $role = (Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole
    $target = 'time.windows.com'
    if ($role -eq 1 -or $role -eq 3 -or $role -eq 4) { $target = 'the domain hierarchy' }
    if (-not $OsirisCheckMode) {
        if ($role -eq 1 -or $role -eq 3 -or $role -eq 4) {
            $null = w32tm /config /syncfromflags:domhier /update
        } elseif ($role -eq 5) {
            $null = w32tm /config '/manualpeerlist:time.windows.com,0x8' /syncfromflags:manual /reliable:yes /update
        } else {
            $null = w32tm /config '/manualpeerlist:time.windows.com,0x8' /syncfromflags:manual /update
        }
        if ($LASTEXITCODE -ne 0) { throw "w32tm /config failed with exit code $LASTEXITCODE" }
    }
    "changed: time source $source -> $target"
    $changed++
}
# labels as w32tm prints them in English; elsewhere nothing matches and it resynchronises
$status = @{}
foreach ($line in @(w32tm /query /status /verbose)) {
    if ([string]$line -match '^\s*([^:]+?):\s*(.*?)\s*$') { $status[$Matches[1]] = $Matches[2] }
}
$fresh = $false
if ($changed -eq 0 -and $status['Time since Last Good Sync Time'] -match '^(\d+)' -and [int]$Matches[1] -lt 3600) {
    $fresh = $status['Phase Offset'] -match '^-?0[.,]\d+s'
}
if ($fresh) {
    "unchanged: the clock synchronised with $source within the hour"
} else {
    if (-not $OsirisCheckMode) {
        $output = (@(w32tm /resync /force) -join ' ').Trim()
        if ($LASTEXITCODE -ne 0) { throw "w32tm /resync failed with exit code ${LASTEXITCODE}: $output" }
    }
    'changed: clock resynchronised'
}
