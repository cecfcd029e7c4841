# osiris:runbook windows_defender_cloud_enable
# Turns on Defender's cloud-delivered protection (MAPSReporting 2, Advanced) where it is
# off, sends safe samples where sending was refused (SubmitSamplesConsent 1: files that
# can hold personal data, such as documents, are never sent without asking) and blocks
# potentially unwanted applications (PUAProtection 1). Other settings stay as they are.
$ErrorActionPreference = 'Stop'
$preference = Get-MpPreference
$settings = [ordered]@{}
if ([int]$preference.MAPSReporting -eq 0) { $settings.MAPSReporting = 2 }
if ([int]$preference.SubmitSamplesConsent -eq 2) { $settings.SubmitSamplesConsent = 1 }
if ([int]$preference.PUAProtection -ne 1) { $settings.PUAProtection = 1 }
if ($settings.Count -eq 0) {
    'unchanged: cloud-delivered protection, sample submission and PUA blocking are already on'
} else {
    if (-not $OsirisCheckMode) {
        $arguments = @{}
        foreach ($name in @($settings.Keys)) { $arguments[$name] = $settings[$name] }
        Set-MpPreference @arguments
        $after = Get-MpPreference
        foreach ($name in @($settings.Keys)) {
            if ([int]$after.$name -ne $settings[$name]) {
                throw "Defender keeps $name at $([int]$after.$name): Tamper Protection or a Group Policy sets it"
            }
        }
    }
    foreach ($name in @($settings.Keys)) {
        "changed: Defender $name $([int]$preference.$name) -> $($settings[$name])"
    }
}
