# osiris:runbook windows_usb_storage_block
# Denies writing to removable disks (policy "Removable Disks: Deny write access") and
# turns autorun off for every drive type. Reading stays allowed, so staff can still
# bring documents in; a domain GPO that says otherwise wins at its next refresh.
$ErrorActionPreference = 'Stop'
function Set-OsirisDword([string]$Path, [string]$Name, [int]$Value) {
    $item = Get-ItemProperty -Path $Path -Name $Name -ErrorAction SilentlyContinue
    $current = 'unset'
    if ($null -ne $item) { $current = [int]$item.$Name }
    if ($current -ne $Value) {
        if (-not (Test-Path -Path $Path)) { $null = New-Item -Path $Path -Force }
        Set-ItemProperty -Path $Path -Name $Name -Value $Value -Type DWord
        "changed: $Name $current -> $Value"
    }
}
$storage = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices'
$explorer = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer'
$changes = @(
    Set-OsirisDword "$storage\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}" 'Deny_Write' 1
    Set-OsirisDword $explorer 'NoDriveTypeAutoRun' 255
)
$changes
if ($changes.Count -eq 0) { 'unchanged: removable disks are read-only and autorun is off' }
