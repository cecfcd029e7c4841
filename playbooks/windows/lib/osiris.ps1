# osiris:lib v1
# What every Windows runbook is sent after, as one script: osiris over WinRM
# (osiris.heal.powershell.runbook_script) and Ansible (lib/run_runbook.yml) put this file
# first, then the line that sets $OsirisCheckMode, then <id>.ps1. In check mode
# ($OsirisCheckMode true) a runbook prints the "changed:" lines of what it would change
# and changes nothing; its functions below honour it where they change anything.
$ErrorActionPreference = 'Stop'
function Set-OsirisDword([string]$Path, [string]$Name, [long]$Value, [string]$Label = $Name) {
    # prints "changed: <Label> <before> -> <Value>" when the DWORD differs (the key is
    # created when missing); in check mode prints it only
    $item = Get-ItemProperty -Path $Path -Name $Name -ErrorAction SilentlyContinue
    $current = 'unset'
    if ($null -ne $item) { $current = [long]$item.$Name }
    if ($current -ne $Value) {
        if (-not $OsirisCheckMode) {
            if (-not (Test-Path -Path $Path)) { $null = New-Item -Path $Path -Force }
            Set-ItemProperty -Path $Path -Name $Name -Value $Value -Type DWord
        }
        "changed: $Label $current -> $Value"
    }
}
function Get-OsirisSystemAccess {
    # [System Access] of the effective security policy, as secedit exports it
    $cfg = Join-Path $env:TEMP ('osiris-{0}.inf' -f [guid]::NewGuid())
    $access = @{}
    try {
        $null = secedit /export /cfg $cfg /areas SECURITYPOLICY /quiet
        if ($LASTEXITCODE -ne 0) { throw "secedit /export failed with exit code $LASTEXITCODE" }
        $inSection = $false
        foreach ($line in Get-Content -Path $cfg) {
            if ($line -match '^\s*\[(.+)\]\s*$') {
                $inSection = ($Matches[1] -eq 'System Access')
            } elseif ($inSection -and $line -match '^\s*(\w+)\s*=\s*(-?\d+)\s*$') {
                $access[$Matches[1]] = [int]$Matches[2]
            }
        }
    } finally {
        Remove-Item -Path $cfg -Force -ErrorAction SilentlyContinue
    }
    $access
}
function Get-OsirisSystemAccessChanges($Access, $Wanted) {
    # "changed: <key> <before> -> <after>" for every key of $Wanted that $Access differs on
    foreach ($name in @($Wanted.Keys)) {
        if ($Access[$name] -ne $Wanted[$name]) {
            $was = $Access[$name]
            if ($null -eq $was) { $was = 'unset' }
            "changed: $name $was -> $($Wanted[$name])"
        }
    }
}
function Set-OsirisSystemAccessLines([string[]]$Lines, $Wanted) {
    # $Lines of a security template with the [System Access] keys of $Wanted set
    $out = New-Object -TypeName System.Collections.Generic.List[string]
    $left = [ordered]@{}
    foreach ($name in @($Wanted.Keys)) { $left[$name] = $Wanted[$name] }
    $section = ''
    foreach ($line in @($Lines) + '[osiris:end]') {
        if ($line -match '^\s*\[(.+)\]\s*$') {
            if ($section -eq 'System Access') {
                foreach ($name in @($left.Keys)) { $out.Add(('{0} = {1}' -f $name, $left[$name])) }
                $left.Clear()
            }
            $section = $Matches[1]
            if ($section -eq 'osiris:end') { break }
        } elseif ($section -eq 'System Access' -and $line -match '^\s*(\w+)\s*=' -and $left.Contains($Matches[1])) {
            $out.Add(('{0} = {1}' -f $Matches[1], $left[$Matches[1]]))
            $left.Remove($Matches[1])
            continue
        }
        $out.Add($line)
    }
    if ($left.Count -gt 0) {
        $out.Add('[System Access]')
        foreach ($name in @($left.Keys)) { $out.Add(('{0} = {1}' -f $name, $left[$name])) }
    }
    $out.ToArray()
}
function Set-OsirisSystemAccess($Wanted) {
    # Sets the [System Access] keys of $Wanted: on a domain controller in the Default
    # Domain Policy GPO, elsewhere in the local policy. Callers skip it in check mode.
    if ((Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole -ge 4) {
        # A domain's account policy comes from the Default Domain Policy GPO: a value set
        # on the domain object alone is overwritten when the domain controllers next
        # apply it. So the GPO's security template changes, its version goes up (GPT.INI
        # and the AD object) and Group Policy applies it now.
        $domain = Get-ADDomain
        $id = '{31B2F340-016D-11D2-945F-00C04FB984F9}'
        $sysvol = (Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Services\Netlogon\Parameters' -Name SysVol).SysVol
        $gpo = Join-Path $sysvol "$($domain.DNSRoot)\Policies\$id"
        $template = Join-Path $gpo 'MACHINE\Microsoft\Windows NT\SecEdit\GptTmpl.inf'
        $lines = Set-OsirisSystemAccessLines @(Get-Content -Path $template) $Wanted
        Set-Content -Path $template -Value $lines -Encoding Unicode
        $ini = Join-Path $gpo 'GPT.INI'
        $version = 0
        foreach ($line in Get-Content -Path $ini) {
            if ($line -match '^\s*Version\s*=\s*(\d+)') { $version = [int]$Matches[1] }
        }
        $version++
        $iniLines = @(Get-Content -Path $ini | Where-Object { $_ -notmatch '^\s*Version\s*=' })
        Set-Content -Path $ini -Value ($iniLines + "Version=$version") -Encoding ASCII
        $object = "CN=$id,CN=Policies,CN=System,$($domain.DistinguishedName)"
        Set-ADObject -Identity $object -Replace @{ versionNumber = $version }
        $null = gpupdate /target:computer /force
        if ($LASTEXITCODE -ne 0) { throw "gpupdate failed with exit code $LASTEXITCODE" }
    } else {
        # local policy; a domain GPO that sets account policy wins at its next refresh
        $inf = Join-Path $env:TEMP ('osiris-{0}.inf' -f [guid]::NewGuid())
        $db = Join-Path $env:TEMP ('osiris-{0}.sdb' -f [guid]::NewGuid())
        $lines = Set-OsirisSystemAccessLines @('[Unicode]', 'Unicode=yes', '[Version]', 'signature="$CHICAGO$"', 'Revision=1') $Wanted
        try {
            Set-Content -Path $inf -Value $lines -Encoding Unicode
            $null = secedit /configure /db $db /cfg $inf /areas SECURITYPOLICY /quiet
            if ($LASTEXITCODE -ne 0) { throw "secedit /configure failed with exit code $LASTEXITCODE" }
        } finally {
            Remove-Item -Path $inf, $db -Force -ErrorAction SilentlyContinue
        }
    }
    $now = Get-OsirisSystemAccess
    foreach ($name in @($Wanted.Keys)) {
        if ($now[$name] -ne $Wanted[$name]) {
            throw "$name is still $($now[$name]) after the change: a Group Policy with higher precedence sets it"
        }
    }
}
