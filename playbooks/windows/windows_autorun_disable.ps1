# osiris:runbook windows_autorun_disable
# Turns autorun off for every drive type (policy "Turn off Autoplay: All drives",
# NoDriveTypeAutoRun 255), so a USB stick or CD cannot start a program by itself.
# Removable storage stays as it is (see windows_usb_storage_block).
$ErrorActionPreference = 'Stop'
$key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer'
$item = Get-ItemProperty -Path $key -Name NoDriveTypeAutoRun -ErrorAction SilentlyContinue
$current = 'unset'
if ($null -ne $item) { $current = [int]$item.NoDriveTypeAutoRun }
if ($current -eq 255) {
    'unchanged: autorun is already off for every drive type'
} else {
    if (-not (Test-Path -Path $key)) { $null = New-Item -Path $key -Force }
    Set-ItemProperty -Path $key -Name NoDriveTypeAutoRun -Value 255 -Type DWord
    "changed: NoDriveTypeAutoRun $current -> 255"
}
