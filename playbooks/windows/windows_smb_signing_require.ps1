# osiris:runbook windows_smb_signing_require
# Requires SMB signing on the server and the client side. Every Windows version in
# support signs; an old NAS or scanner that cannot will no longer connect, so check the
# practice's devices first.
$ErrorActionPreference = 'Stop'
$changed = 0
if (-not (Get-SmbServerConfiguration).RequireSecuritySignature) {
    if (-not $OsirisCheckMode) {
        Set-SmbServerConfiguration -RequireSecuritySignature $true -EnableSecuritySignature $true -Force
    }
    'changed: SMB server RequireSecuritySignature False -> True'
    $changed++
}
if (-not (Get-SmbClientConfiguration).RequireSecuritySignature) {
    if (-not $OsirisCheckMode) {
        Set-SmbClientConfiguration -RequireSecuritySignature $true -EnableSecuritySignature $true -Force
    }
    'changed: SMB client RequireSecuritySignature False -> True'
    $changed++
}
if ($changed -eq 0) { 'unchanged: the SMB server and client already require signing' }
