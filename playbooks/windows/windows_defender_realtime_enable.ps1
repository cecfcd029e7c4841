# osiris:runbook windows_defender_realtime_enable
# Starts the Microsoft Defender Antivirus service if it is stopped and turns real-time
# protection back on. It changes nothing and fails where Defender Antivirus itself is
# off (passive mode beside another antivirus, or disabled by policy): which antivirus
# protects the host is a decision for a person.
# A policy value (HKLM:\SOFTWARE\Policies\...\Real-Time Protection
# DisableRealtimeMonitoring) wins over Set-MpPreference: one that turns real-time
# protection off is removed (the setting is then "not configured"), so the preference
# applies. A domain GPO that sets it again at its next refresh brings the drift back: fix
# it in the GPO. Tamper Protection that keeps real-time protection off makes the script
# fail, naming the cause.
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
    $policyKey = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender\Real-Time Protection'
    $policy = Get-ItemProperty -Path $policyKey -Name DisableRealtimeMonitoring -ErrorAction SilentlyContinue
    if ($null -ne $policy -and [long]$policy.DisableRealtimeMonitoring -ne 0) {
        if (-not $OsirisCheckMode) { Remove-ItemProperty -Path $policyKey -Name DisableRealtimeMonitoring }
        "changed: policy DisableRealtimeMonitoring $([long]$policy.DisableRealtimeMonitoring) -> removed"
        $changed++
    }
    if (-not $OsirisCheckMode) {
        Set-MpPreference -DisableRealtimeMonitoring $false
        $deadline = (Get-Date).AddSeconds(30)
        while (-not (Get-MpComputerStatus).RealTimeProtectionEnabled) {
            if ((Get-Date) -gt $deadline) {
                throw 'real-time protection stays off: Tamper Protection or a domain Group Policy keeps it off'
            }
            Start-Sleep -Seconds 2
        }
    }
    'changed: Defender RealTimeProtectionEnabled False -> True'
    $changed++
}
if ($changed -eq 0) { 'unchanged: Defender real-time protection is already on' }
