# osiris:guard v1
# The Windows side of osiris's lockout guard (osiris/heal/guard.py). osiris sends this
# before a runbook that could cut it off, then calls Register-OsirisGuard in the same
# script: it saves the little the change could break and schedules, as SYSTEM, a revert
# that runs after -Seconds unless osiris, once it has reconnected, calls
# Unregister-OsirisGuard. What is saved, per -Save:
#   firewall  the Domain, Private and Public profiles (Enabled, DefaultInboundAction),
#             the Windows Defender Firewall service and the built-in WinRM rules
#   winrm     the WinRM service, its listeners and the built-in WinRM rules
#   accounts  which local accounts (and on a domain controller, domain users) are enabled
# Saved state and the "reverted" mark live under HKLM\SOFTWARE\Osiris\Guard\<name>,
# which only administrators and SYSTEM may change; the revert itself is the scheduled
# task's encoded command.
$OsirisGuardRoot = 'HKLM:\SOFTWARE\Osiris\Guard'
$OsirisGuardTaskPath = '\Osiris\'
$OsirisWinrmRules = 'WINRM-HTTP-In-TCP*'
function Get-OsirisServiceState([string]$Name) {
    $service = Get-Service -Name $Name
    @{ Name = $Name; Status = [string]$service.Status; StartType = [string]$service.StartType }
}
function Register-OsirisGuard([string]$Name, [int]$Seconds, [string[]]$Save) {
    $saved = @{}
    $services = @()
    if ($Save -contains 'firewall') {
        $saved.profiles = @(foreach ($fw in @(Get-NetFirewallProfile -Name 'Domain', 'Private', 'Public')) {
            @{ Name = [string]$fw.Name; Enabled = [string]$fw.Enabled; DefaultInboundAction = [string]$fw.DefaultInboundAction }
        })
        $services += , (Get-OsirisServiceState 'MpsSvc')
    }
    if ($Save -contains 'winrm') {
        $services += , (Get-OsirisServiceState 'WinRM')
        $saved.listeners = @(foreach ($listener in @(Get-WSManInstance -ResourceURI winrm/config/listener -Enumerate)) {
            @{
                Address = [string]$listener.Address
                Transport = [string]$listener.Transport
                Port = [string]$listener.Port
                Hostname = [string]$listener.Hostname
                CertificateThumbprint = [string]$listener.CertificateThumbprint
            }
        })
    }
    if ($Save -contains 'firewall' -or $Save -contains 'winrm') {
        $saved.rules = @(foreach ($rule in @(Get-NetFirewallRule -Name $OsirisWinrmRules -ErrorAction SilentlyContinue)) {
            @{ Name = [string]$rule.Name; Enabled = [string]$rule.Enabled }
        })
    }
    $saved.services = $services
    if ($Save -contains 'accounts') {
        $saved.localUsers = @(Get-LocalUser | Where-Object { $_.Enabled } | ForEach-Object { $_.SID.Value })
        if ((Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole -ge 4) {
            $saved.domainUsers = @(Get-ADUser -Filter 'Enabled -eq $true' | ForEach-Object { $_.SID.Value })
        }
    }
    $key = Join-Path $OsirisGuardRoot $Name
    if (Test-Path -Path $key) { Remove-Item -Path $key -Recurse -Force }
    $null = New-Item -Path $key -Force
    Set-ItemProperty -Path $key -Name State -Value (ConvertTo-Json -InputObject $saved -Depth 5 -Compress)
    $revert = "`$OsirisGuardKey = '$key'`n`$OsirisWinrmRules = '$OsirisWinrmRules'`n" + $OsirisRevert.ToString()
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($revert))
    $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand $encoded"
    $trigger = New-ScheduledTaskTrigger -Once -At (Get-Date).AddSeconds($Seconds)
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable
    $null = Register-ScheduledTask -TaskPath $OsirisGuardTaskPath -TaskName $Name -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force
    "guard: $Name armed; it restores $($Save -join ', ') in $Seconds s unless osiris disarms it"
}
function Unregister-OsirisGuard([string]$Name) {
    # 'reverted' when the revert has run, else 'disarmed'; either way nothing is left
    $task = Get-ScheduledTask -TaskPath $OsirisGuardTaskPath -TaskName $Name -ErrorAction SilentlyContinue
    if ($null -ne $task) { Unregister-ScheduledTask -TaskPath $OsirisGuardTaskPath -TaskName $Name -Confirm:$false }
    $key = Join-Path $OsirisGuardRoot $Name
    $reverted = $false
    if (Test-Path -Path $key) {
        $reverted = $null -ne (Get-ItemProperty -Path $key -Name Reverted -ErrorAction SilentlyContinue)
        Remove-Item -Path $key -Recurse -Force
    }
    if ($reverted) { 'reverted' } else { 'disarmed' }
}
$OsirisRevert = {
    # Runs as SYSTEM when the guard's time is up: puts back what Register-OsirisGuard
    # saved, the WinRM service first, and carries on past a step that fails.
    $ErrorActionPreference = 'Continue'
    $saved = (Get-ItemProperty -Path $OsirisGuardKey -Name State).State | ConvertFrom-Json
    foreach ($service in @($saved.services | Where-Object { $_ })) {
        Set-Service -Name $service.Name -StartupType $service.StartType
        $now = [string](Get-Service -Name $service.Name).Status
        if ($service.Status -eq 'Running' -and $now -ne 'Running') { Start-Service -Name $service.Name }
        if ($service.Status -eq 'Stopped' -and $now -ne 'Stopped') { Stop-Service -Name $service.Name -Force }
    }
    $listeners = @(Get-WSManInstance -ResourceURI winrm/config/listener -Enumerate -ErrorAction SilentlyContinue)
    foreach ($listener in @($saved.listeners | Where-Object { $_ })) {
        $found = $listeners | Where-Object { $_.Address -eq $listener.Address -and $_.Transport -eq $listener.Transport }
        if ($null -eq $found) {
            $values = @{ Port = $listener.Port }
            if ($listener.Hostname) { $values.Hostname = $listener.Hostname }
            if ($listener.CertificateThumbprint) { $values.CertificateThumbprint = $listener.CertificateThumbprint }
            $selector = @{ Address = $listener.Address; Transport = $listener.Transport }
            $null = New-WSManInstance -ResourceURI winrm/config/listener -SelectorSet $selector -ValueSet $values
        }
    }
    foreach ($rule in @($saved.rules | Where-Object { $_ })) {
        Set-NetFirewallRule -Name $rule.Name -Enabled $rule.Enabled
    }
    foreach ($fw in @($saved.profiles | Where-Object { $_ })) {
        Set-NetFirewallProfile -Name $fw.Name -Enabled $fw.Enabled -DefaultInboundAction $fw.DefaultInboundAction
    }
    foreach ($sid in @($saved.localUsers | Where-Object { $_ })) {
        $user = Get-LocalUser -SID $sid -ErrorAction SilentlyContinue
        if ($null -ne $user -and -not $user.Enabled) { Enable-LocalUser -SID $sid }
    }
    foreach ($sid in @($saved.domainUsers | Where-Object { $_ })) {
        $user = Get-ADUser -Identity $sid -ErrorAction SilentlyContinue
        if ($null -ne $user -and -not $user.Enabled) { Enable-ADAccount -Identity $sid }
    }
    Set-ItemProperty -Path $OsirisGuardKey -Name Reverted -Value 1 -Type DWord
}
