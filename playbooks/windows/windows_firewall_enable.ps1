# osiris:runbook windows_firewall_enable
# Turns the Domain, Private and Public firewall profiles on and makes them block inbound
# traffic that no rule allows. The built-in "Windows Remote Management" rules keep WinRM
# reachable where they are enabled; osiris reconnects after this runbook and reports a
# host it can no longer reach. A Group Policy that turns a profile off wins over the
# local setting: the script then fails, naming the profile, and the GPO must be fixed.
$ErrorActionPreference = 'Stop'
$names = 'Domain', 'Private', 'Public'
$changed = 0
foreach ($fw in @(Get-NetFirewallProfile -Name $names)) {
    if ([string]$fw.Enabled -ne 'True') {
        "changed: firewall profile $($fw.Name) Enabled False -> True"
        $changed++
    }
    if ([string]$fw.DefaultInboundAction -eq 'Allow') {
        "changed: firewall profile $($fw.Name) DefaultInboundAction Allow -> Block"
        $changed++
    }
}
if ($changed -eq 0) {
    'unchanged: every firewall profile was already on and blocking'
} elseif (-not $OsirisCheckMode) {
    Set-NetFirewallProfile -Name $names -Enabled True -DefaultInboundAction Block
}
if (-not $OsirisCheckMode) {
    foreach ($fw in @(Get-NetFirewallProfile -PolicyStore ActiveStore -Name $names)) {
        if ([string]$fw.Enabled -ne 'True' -or [string]$fw.DefaultInboundAction -eq 'Allow') {
            throw "a Group Policy keeps the $($fw.Name) firewall profile off or open: fix the GPO"
        }
    }
}
