# osiris:runbook windows_autorun_disable
# Turns autorun off for every drive type (policy "Turn off Autoplay: All drives",
# NoDriveTypeAutoRun 255), so a USB stick or CD cannot start a program by itself.
# Removable storage stays as it is (see windows_usb_storage_block).
# Set-OsirisDword (lib/osiris.ps1) prints each change and, outside check mode, makes it.
$ErrorActionPreference = 'Stop'
$key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer'
$changes = @(Set-OsirisDword $key 'NoDriveTypeAutoRun' 255)
$changes
if ($changes.Count -eq 0) { 'unchanged: autorun is already off for every drive type' }
