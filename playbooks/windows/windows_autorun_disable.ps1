# osiris:runbook windows_autorun_disable
# Turns autorun off for the drive types of the site's autorun_off_mask (default 255,
# policy "Turn off Autoplay: All drives"), so a USB stick or CD cannot start a program
# by itself. The check wants exactly the site's mask, so that is what is written.
# Removable storage stays as it is (see windows_usb_storage_block).
# Set-OsirisDword (lib/osiris.ps1) prints each change and, outside check mode, makes it.
$ErrorActionPreference = 'Stop'
$key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer'
$changes = @(Set-OsirisDword $key 'NoDriveTypeAutoRun' ([long]$osiris_autorun_off_mask))
$changes
if ($changes.Count -eq 0) { "unchanged: autorun is already off (NoDriveTypeAutoRun $osiris_autorun_off_mask)" }
