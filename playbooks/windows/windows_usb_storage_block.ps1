# osiris:runbook windows_usb_storage_block
# Denies writing to removable disks (policy "Removable Disks: Deny write access") and
# turns autorun off (NoDriveTypeAutoRun: the site's autorun_off_mask, 255 = every drive
# type). Reading stays allowed, so staff can still
# bring documents in; a domain GPO that says otherwise wins at its next refresh.
# Set-OsirisDword (lib/osiris.ps1) prints each change and, outside check mode, makes it.
$ErrorActionPreference = 'Stop'
$storage = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices'
$explorer = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer'
$changes = @(
    Set-OsirisDword "$storage\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}" 'Deny_Write' 1
    Set-OsirisDword $explorer 'NoDriveTypeAutoRun' ([long]$osiris_autorun_off_mask)
)
$changes
if ($changes.Count -eq 0) { 'unchanged: removable disks are read-only and autorun is off' }
