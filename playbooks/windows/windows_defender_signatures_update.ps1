# osiris:runbook windows_defender_signatures_update
# Updates Defender's security intelligence from the host's configured sources (WSUS,
# Microsoft Update, a file share) and reports the version before and after. It fails
# when no source can be reached, with Defender's own error.
$ErrorActionPreference = 'Stop'
$before = Get-MpComputerStatus
Update-MpSignature
$after = Get-MpComputerStatus
if ([string]$after.AntivirusSignatureVersion -ne [string]$before.AntivirusSignatureVersion) {
    "changed: Defender signatures $($before.AntivirusSignatureVersion) -> $($after.AntivirusSignatureVersion)"
} else {
    "unchanged: Defender signatures $($after.AntivirusSignatureVersion) are the newest available"
}
