# osiris:runbook windows_defender_realtime_enable
# Starts the Microsoft Defender Antivirus service if it is stopped and turns real-time
# protection back on. It changes nothing and fails where Defender Antivirus itself is
# off (passive mode beside another antivirus, or disabled by policy): which antivirus
# protects the host is a decision for a person. Tamper Protection or a Group Policy that
# keeps real-time protection off also makes it fail, naming the cause to fix.
$ErrorActionPreference = 'Stop'
$changed = 0
$service = Get-Service -Name WinDefend
if ([string]$service.Status -ne 'Running') {
    "changed: WinDefend Status $($service.Status) -> Running"
    $changed++
    if ($OsirisCheckMode) {
        # Defender reports its status only once its service runs: the rest is seen then
        return
    }
    Start-Service -Name WinDefend
}
$status = Get-MpComputerStatus
if (-not $status.AntivirusEnabled) {
    throw "Defender Antivirus is off (AMRunningMode $($status.AMRunningMode)): choose the antivirus for this host"
}
if (-not $status.RealTimeProtectionEnabled) {
    if (-not $OsirisCheckMode) {
        Set-MpPreference -DisableRealtimeMonitoring $false
        $deadline = (Get-Date).AddSeconds(30)
        while (-not (Get-MpComputerStatus).RealTimeProtectionEnabled) {
            if ((Get-Date) -gt $deadline) {
                throw 'real-time protection stays off: Tamper Protection or a Group Policy (DisableRealtimeMonitoring) keeps it off'
            }
            Start-Sleep -Seconds 2
        }
    }
    'changed: Defender RealTimeProtectionEnabled False -> True'
    $changed++
}
if ($changed -eq 0) { 'unchanged: Defender real-time protection is already on' }
