# osiris:runbook windows_smb1_disable
# Stops the SMB server accepting SMB1 and disables the SMB1 client driver mrxsmb10 where
# it is installed (the driver change takes effect after a restart). A scanner or NAS
# that speaks only SMB1 can no longer exchange files with this host.
$ErrorActionPreference = 'Stop'
$changed = 0
if ((Get-SmbServerConfiguration).EnableSMB1Protocol) {
    # splatted: tree-sitter-powershell cannot parse a parameter name with a digit
    $settings = @{ EnableSMB1Protocol = $false; Force = $true }
    if (-not $OsirisCheckMode) { Set-SmbServerConfiguration @settings }
    'changed: SMB server EnableSMB1Protocol True -> False'
    $changed++
}
$driver = 'HKLM:\SYSTEM\CurrentControlSet\Services\mrxsmb10'
if (Test-Path -Path $driver) {
    $start = [int](Get-ItemProperty -Path $driver -Name Start).Start
    if ($start -ne 4) {
        if (-not $OsirisCheckMode) {
            $null = sc.exe config lanmanworkstation depend= bowser/mrxsmb20/nsi
            if ($LASTEXITCODE -ne 0) { throw "sc.exe config lanmanworkstation failed with exit code $LASTEXITCODE" }
            $null = sc.exe config mrxsmb10 start= disabled
            if ($LASTEXITCODE -ne 0) { throw "sc.exe config mrxsmb10 failed with exit code $LASTEXITCODE" }
        }
        "changed: SMB1 client driver mrxsmb10 Start $start -> 4"
        $changed++
    }
}
if ($changed -eq 0) { 'unchanged: SMB1 was already off' }
