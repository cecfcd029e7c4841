# osiris:runbook windows_event_log_size_set
# Lets the Security log grow to $osiris_security_min_kb KB (196,608) and the Application
# log to $osiris_application_min_kb KB (32,768); larger sizes stay. Makes the Security
# log overwrite its oldest events when full instead of losing new ones (LogMode Retain ->
# Circular). Events already lost do not come back: a short history improves as new
# events arrive, or by forwarding them. Where a Group Policy sets the log size, it wins:
# the script then fails and the GPO must be fixed.
$ErrorActionPreference = 'Stop'
$wanted = [ordered]@{
    Security = [long]$osiris_security_min_kb * 1024
    Application = [long]$osiris_application_min_kb * 1024
}
$changed = 0
foreach ($name in @($wanted.Keys)) {
    $log = Get-WinEvent -ListLog $name
    $save = $false
    if ($log.MaximumSizeInBytes -lt $wanted[$name]) {
        "changed: $name log MaximumSizeInBytes $($log.MaximumSizeInBytes) -> $($wanted[$name])"
        $log.MaximumSizeInBytes = $wanted[$name]
        $save = $true
    }
    if ($name -eq 'Security' -and [string]$log.LogMode -eq 'Retain') {
        'changed: Security log LogMode Retain -> Circular'
        $log.LogMode = 'Circular'
        $save = $true
    }
    if ($save) { $changed++ }
    if ($save -and -not $OsirisCheckMode) {
        $log.SaveChanges()
        $after = Get-WinEvent -ListLog $name
        if ($after.MaximumSizeInBytes -lt $wanted[$name] -or [string]$after.LogMode -ne [string]$log.LogMode) {
            throw "the $name log keeps its old settings: a Group Policy sets them"
        }
    }
}
if ($changed -eq 0) { 'unchanged: the Security and Application logs are already large enough' }
