# osiris:runbook windows_defender_signatures_update
# Updates Defender's security intelligence from the host's configured sources (WSUS,
# Microsoft Update, a file share) and reports the version before and after. It fails
# when no source can be reached, with Defender's own error. Check mode cannot ask the
# sources without updating: Microsoft publishes security intelligence about every 8
# hours, so it reports an update for signatures at least that old.
$ErrorActionPreference = 'Stop'
$before = Get-MpComputerStatus
if ($OsirisCheckMode) {
    $updated = $before.AntivirusSignatureLastUpdated
    if ($null -eq $updated) {
        "changed: Defender signatures $($before.AntivirusSignatureVersion) (never updated) -> the newest published"
    } elseif (((Get-Date) - $updated).TotalHours -ge 8) {
        $hours = [int][math]::Floor(((Get-Date) - $updated).TotalHours)
        "changed: Defender signatures $($before.AntivirusSignatureVersion) ($hours hours old) -> the newest published"
    } else {
        "unchanged: Defender signatures $($before.AntivirusSignatureVersion) are less than 8 hours old"
    }
} else {
    Update-MpSignature
    $after = Get-MpComputerStatus
    if ([string]$after.AntivirusSignatureVersion -ne [string]$before.AntivirusSignatureVersion) {
        "changed: Defender signatures $($before.AntivirusSignatureVersion) -> $($after.AntivirusSignatureVersion)"
    } else {
        "unchanged: Defender signatures $($after.AntivirusSignatureVersion) are the newest available"
    }
}
