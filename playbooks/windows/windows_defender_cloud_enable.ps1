# osiris:runbook windows_defender_cloud_enable
# Turns on Defender's cloud-delivered protection (MAPSReporting 2, Advanced) where it is
# off, sends safe samples where sending was refused (SubmitSamplesConsent 1: files that
# can hold personal data, such as documents, are never sent without asking) and blocks
# potentially unwanted applications (PUAProtection 1). Other settings stay as they are.
# A policy value (HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender) wins over
# Set-MpPreference: one that says otherwise is removed (the setting is then "not
# configured"), so the preference applies; one that agrees stays. A domain GPO that sets
# it again at its next refresh brings the drift back: fix it in the GPO.
$ErrorActionPreference = 'Stop'
$policyRoot = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender'
$policyOf = @{
    MAPSReporting = @("$policyRoot\Spynet", 'SpynetReporting')
    SubmitSamplesConsent = @("$policyRoot\Spynet", 'SubmitSamplesConsent')
    PUAProtection = @($policyRoot, 'PUAProtection')
}
$preference = Get-MpPreference
$settings = [ordered]@{}
if ([int]$preference.MAPSReporting -eq 0) { $settings.MAPSReporting = 2 }
if ([int]$preference.SubmitSamplesConsent -eq 2) { $settings.SubmitSamplesConsent = 1 }
if ([int]$preference.PUAProtection -ne 1) { $settings.PUAProtection = 1 }
if ($settings.Count -eq 0) {
    'unchanged: cloud-delivered protection, sample submission and PUA blocking are already on'
} else {
    foreach ($name in @($settings.Keys)) {
        $key, $valueName = $policyOf[$name]
        $policy = Get-ItemProperty -Path $key -Name $valueName -ErrorAction SilentlyContinue
        if ($null -ne $policy -and [long]$policy.$valueName -ne $settings[$name]) {
            if (-not $OsirisCheckMode) { Remove-ItemProperty -Path $key -Name $valueName }
            "changed: policy $valueName $([long]$policy.$valueName) -> removed"
        }
    }
    if (-not $OsirisCheckMode) {
        $arguments = @{}
        foreach ($name in @($settings.Keys)) { $arguments[$name] = $settings[$name] }
        Set-MpPreference @arguments
        $after = Get-MpPreference
        foreach ($name in @($settings.Keys)) {
            if ([int]$after.$name -ne $settings[$name]) {
                throw "Defender keeps $name at $([int]$after.$name): Tamper Protection or a domain Group Policy sets it"
            }
        }
    }
    foreach ($name in @($settings.Keys)) {
        "changed: Defender $name $([int]$preference.$name) -> $($settings[$name])"
    }
}
