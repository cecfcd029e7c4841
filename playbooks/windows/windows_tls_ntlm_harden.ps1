# osiris:runbook windows_tls_ntlm_harden
# Switches SSL 2.0, SSL 3.0, TLS 1.0 and TLS 1.1 off for servers (SCHANNEL Enabled 0,
# DisabledByDefault 1) and sets LmCompatibilityLevel 5 (send NTLMv2 only, refuse LM and
# NTLM). Legacy clients break: an old EHR interface, scanner or Windows 7 machine that
# speaks only TLS 1.0 or NTLMv1 can no longer connect, hence the approval. SCHANNEL
# reads its settings at start-up: the protocols go off at the next restart. It refuses
# to run where TLS 1.2 is switched off, which would leave no protocol at all.
# Set-OsirisDword (lib/osiris.ps1) prints each change and, outside check mode, makes it.
$ErrorActionPreference = 'Stop'
$base = 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols'
$tls12 = Get-ItemProperty -Path "$base\TLS 1.2\Server" -Name Enabled -ErrorAction SilentlyContinue
if ($null -ne $tls12 -and [long]$tls12.Enabled -eq 0) {
    throw 'TLS 1.2 is switched off for servers: switch it on before the older protocols go off'
}
$changes = @(
    foreach ($name in 'SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1') {
        Set-OsirisDword "$base\$name\Server" 'Enabled' 0 "$name Server Enabled"
        Set-OsirisDword "$base\$name\Server" 'DisabledByDefault' 1 "$name Server DisabledByDefault"
    }
    Set-OsirisDword 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa' 'LmCompatibilityLevel' 5 'LmCompatibilityLevel'
)
$changes
if ($changes.Count -eq 0) { 'unchanged: old protocols are off for servers and only NTLMv2 is used' }
