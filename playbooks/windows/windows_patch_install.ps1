# osiris:runbook windows_patch_install
# Installs every software update the Windows Update Agent offers (from WSUS or Microsoft
# Update, as the host is configured) and does not restart. The Windows Update API
# refuses to download or install from a remote (WinRM) session, so the work runs as
# SYSTEM in a one-time scheduled task whose result this script waits for (up to 55
# minutes) and reports. Services restart and users may be asked to restart: run it in a
# maintenance window. A restart that updates need is left to the practice; the check
# warns when one stays pending too long. Check mode searches from the session itself
# (searching is allowed remotely) and lists what would be installed.
$ErrorActionPreference = 'Stop'
if ($OsirisCheckMode) {
    try {
        $session = New-Object -ComObject Microsoft.Update.Session
        $search = $session.CreateUpdateSearcher().Search("IsInstalled=0 and Type='Software' and IsHidden=0")
    } catch {
        throw "Windows Update failed: $(($_.Exception.Message -replace '\s+', ' ').Trim())"
    }
    foreach ($update in $search.Updates) { "changed: update $($update.Title) pending -> installed" }
    if ($search.Updates.Count -eq 0) { 'unchanged: no update is pending' }
    return
}
$work = Join-Path $env:ProgramData 'osiris'
$taskName = 'osiris-windows-patch-install'
$resultPath = Join-Path $work 'patch-install.json'
$scriptPath = Join-Path $work 'patch-install.ps1'
$install = {
    $ErrorActionPreference = 'Stop'
    $result = @{ installed = @(); failed = @(); reboot = $false; error = $null }
    try {
        $session = New-Object -ComObject Microsoft.Update.Session
        $search = $session.CreateUpdateSearcher().Search("IsInstalled=0 and Type='Software' and IsHidden=0")
        $updates = New-Object -ComObject Microsoft.Update.UpdateColl
        foreach ($update in $search.Updates) {
            if (-not $update.EulaAccepted) { $update.AcceptEula() }
            $null = $updates.Add($update)
        }
        if ($updates.Count -gt 0) {
            $downloader = $session.CreateUpdateDownloader()
            $downloader.Updates = $updates
            $null = $downloader.Download()
            $installer = $session.CreateUpdateInstaller()
            $installer.Updates = $updates
            $outcome = $installer.Install()
            $result.reboot = [bool]$outcome.RebootRequired
            for ($index = 0; $index -lt $updates.Count; $index++) {
                # OperationResultCode: 2 succeeded, 3 succeeded with errors
                $code = [int]$outcome.GetUpdateResult($index).ResultCode
                $title = [string]$updates.Item($index).Title
                if ($code -eq 2 -or $code -eq 3) {
                    $result.installed += $title
                } else {
                    $result.failed += "$title (result code $code)"
                }
            }
        }
    } catch {
        $result.error = ($_.Exception.Message -replace '\s+', ' ').Trim()
    }
    $partial = "$osirisResult.partial"
    ConvertTo-Json -InputObject $result | Set-Content -Path $partial -Encoding UTF8
    Move-Item -Path $partial -Destination $osirisResult -Force
}
if (-not (Test-Path -Path $work)) { $null = New-Item -Path $work -ItemType Directory -Force }
Remove-Item -Path $resultPath -Force -ErrorAction SilentlyContinue
Set-Content -Path $scriptPath -Value ("`$osirisResult = '$resultPath'", $install.ToString()) -Encoding UTF8
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$scriptPath`""
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -ExecutionTimeLimit (New-TimeSpan -Hours 2)
$null = Register-ScheduledTask -TaskName $taskName -Action $action -Principal $principal -Settings $settings -Force
Start-ScheduledTask -TaskName $taskName
$started = Get-Date
while (-not (Test-Path -Path $resultPath)) {
    $elapsed = (Get-Date) - $started
    if ($elapsed.TotalMinutes -gt 55) {
        throw "the update task has not finished within 55 minutes; it goes on as SYSTEM (task $taskName)"
    }
    $state = [string](Get-ScheduledTask -TaskName $taskName).State
    if ($state -ne 'Running' -and $elapsed.TotalSeconds -gt 30 -and -not (Test-Path -Path $resultPath)) {
        $code = (Get-ScheduledTaskInfo -TaskName $taskName).LastTaskResult
        throw "the update task ended without a result (state $state, last result $code; task $taskName)"
    }
    Start-Sleep -Seconds 10
}
Unregister-ScheduledTask -TaskName $taskName -Confirm:$false
$result = Get-Content -Path $resultPath -Raw | ConvertFrom-Json
Remove-Item -Path $resultPath, $scriptPath -Force -ErrorAction SilentlyContinue
if ($result.error) { throw "Windows Update failed: $($result.error)" }
foreach ($title in @($result.installed)) { "changed: installed $title" }
if ($result.reboot) { 'changed: a restart is needed to finish the installation (not restarted)' }
if (@($result.failed).Count -gt 0) { throw "updates failed to install: $(@($result.failed) -join '; ')" }
if (@($result.installed).Count -eq 0) { 'unchanged: no update is pending' }
