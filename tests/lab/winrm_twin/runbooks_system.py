"""Simulated runbooks for the system: the Print Spooler on domain controllers, required
services, time synchronisation, Microsoft Defender, Windows updates and idle accounts.

Each function mirrors ``playbooks/windows/<id>.ps1`` and prints the same lines (see
``runbook_base``). Where the script depends on the world outside the host (which
signatures Microsoft has published, which time a source gives) the twin's model is
stated beside the function.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .components import HotFix, Service
from .controls import POLICY_VALUE_NAMES
from .runbook_base import RunbookFailure, ps_int, simulates
from .state import WindowsState, iso, parse_iso

DEFENDER_STOPPED = "Operation failed with the following error: 0x800106ba"
# where a domain member's Windows Time synchronises from: the presets' domain controller
DOMAIN_TIME_SOURCE = "DC01.practice.local"
EXTERNAL_TIME_SOURCE = "time.windows.com,0x8"
FREE_RUNNING = ("Local CMOS Clock", "Free-running System Clock")
# Microsoft publishes Defender security intelligence several times a day: the twin
# takes a new version to be out whenever the installed one is older than this
SIGNATURE_RELEASE_HOURS = 8


@simulates("windows_spooler_dc_disable")
def _spooler_dc_disable(state: WindowsState, now: datetime) -> list[str]:
    if state.domain_role < 4:
        return ["unchanged: not a domain controller; the Print Spooler is left as it is"]
    spooler, lines = state.service("Spooler"), []
    if spooler is not None and spooler.Status != "Stopped":
        lines.append(f"changed: Spooler Status {spooler.Status} -> Stopped")
        spooler.Status = "Stopped"
    if spooler is not None and spooler.StartType != "Disabled":
        lines.append(f"changed: Spooler StartType {spooler.StartType} -> Disabled")
        spooler.StartType = "Disabled"
    return lines or ["unchanged: the Print Spooler is already stopped and disabled"]


def _start(state: WindowsState, service: Service) -> None:
    """Start-Service, and the parts of the state that depend on the service running."""
    service.Status = "Running"
    if service.Name == "WinDefend":
        state.defender.service_running = True
    if service.Name == "W32Time" and state.time_service is not None:
        state.time_service.service_running = True


@simulates(
    "windows_critical_services_start",
    variables=("osiris_required_services", "osiris_required_services_dc"),
)
def _critical_services_start(
    state: WindowsState, now: datetime, required_services: Any, required_services_dc: Any
) -> list[str]:
    names = list(required_services or [])
    if state.domain_role >= 4:
        names += required_services_dc or []
    lines, missing = [], []
    for name in names:
        service = state.service(name)
        if service is None:
            missing.append(name)
            continue
        if service.StartType != "Automatic":
            lines.append(f"changed: {name} StartType {service.StartType} -> Automatic")
            service.StartType = "Automatic"
        if service.Status != "Running":
            lines.append(f"changed: {name} Status {service.Status} -> Running")
            _start(state, service)
    if missing:
        raise RunbookFailure(
            f"not installed, so not started: {', '.join(missing)}",
            near='throw "not installed, so not started',
            printed=lines,
        )
    return lines or ["unchanged: every required service is running and starts automatically"]


@simulates("windows_time_resync")
def _time_resync(state: WindowsState, now: datetime) -> list[str]:
    service, time = state.service("W32Time"), state.time_service
    if service is None or time is None:
        raise RunbookFailure(
            "Cannot find any service with service name 'W32Time'.",
            near="$service = Get-Service -Name W32Time",
            command="Get-Service",
        )
    lines = []
    if service.StartType == "Disabled":
        lines.append("changed: W32Time StartType Disabled -> Automatic")
        service.StartType = "Automatic"
    if service.Status != "Running":
        lines.append(f"changed: W32Time Status {service.Status} -> Running")
        _start(state, service)
    if time.Source.startswith(FREE_RUNNING):
        domain_member = state.domain_role in (1, 3, 4)
        target = "the domain hierarchy" if domain_member else "time.windows.com"
        lines.append(f"changed: time source {time.Source} -> {target}")
        time.Source = DOMAIN_TIME_SOURCE if domain_member else EXTERNAL_TIME_SOURCE
        time.Stratum = 3 if domain_member else 2
    last = time.LastSuccessfulSyncTime
    fresh = (
        not lines
        and not time.localized  # the English labels the script reads are not there
        and last is not None
        and (now - parse_iso(last)).total_seconds() < 3600
        and abs(time.PhaseOffset) < 1
    )
    if fresh:
        return [f"unchanged: the clock synchronised with {time.Source} within the hour"]
    time.LastSuccessfulSyncTime, time.PhaseOffset = iso(now), 0.0001
    return [*lines, "changed: clock resynchronised"]


@simulates("windows_time_resync", check_mode=True)
def _time_resync_check(state: WindowsState, now: datetime) -> list[str]:
    service = state.service("W32Time")
    if service is None or service.Status == "Running":
        return _time_resync(state, now)
    # w32tm answers only once the service runs: the script stops after the service lines
    lines = []
    if service.StartType == "Disabled":
        lines.append("changed: W32Time StartType Disabled -> Automatic")
    lines.append(f"changed: W32Time Status {service.Status} -> Running")
    return [*lines, "changed: clock resynchronised"]


def _defender_running(state: WindowsState, command: str, near: str) -> None:
    if not state.defender.service_running:
        raise RunbookFailure(DEFENDER_STOPPED, near=near, command=command)


@simulates("windows_defender_realtime_enable")
def _defender_realtime_enable(state: WindowsState, now: datetime) -> list[str]:
    lines = []
    service = state.service("WinDefend")
    if service is None:
        raise RunbookFailure(
            "Cannot find any service with service name 'WinDefend'.",
            near="$service = Get-Service -Name WinDefend",
            command="Get-Service",
        )
    if service.Status != "Running":
        lines.append(f"changed: WinDefend Status {service.Status} -> Running")
        _start(state, service)
    defender = state.defender
    if not defender.AntivirusEnabled:
        raise RunbookFailure(
            f"Defender Antivirus is off (AMRunningMode {defender.AMRunningMode}): "
            "choose the antivirus for this host",
            near='throw "Defender Antivirus is off',
            printed=lines,
        )
    if not defender.effective("RealTimeProtectionEnabled"):
        disabled = defender.policy_DisableRealtimeMonitoring
        if disabled is not None and disabled != 0:  # the policy value wins: removed
            lines.append(f"changed: policy DisableRealtimeMonitoring {disabled} -> removed")
            defender.policy_DisableRealtimeMonitoring = None
        defender.RealTimeProtectionEnabled = True  # Set-MpPreference
        if not defender.effective("RealTimeProtectionEnabled"):
            raise RunbookFailure(
                "real-time protection stays off: Tamper Protection or a domain Group Policy"
                " keeps it off",
                near="throw 'real-time protection stays off",
                printed=lines,
            )
        lines.append("changed: Defender RealTimeProtectionEnabled False -> True")
    return lines or ["unchanged: Defender real-time protection is already on"]


@simulates("windows_defender_realtime_enable", check_mode=True)
def _defender_realtime_check(state: WindowsState, now: datetime) -> list[str]:
    service = state.service("WinDefend")
    if service is not None and service.Status != "Running":
        # Defender reports its status only once its service runs: the script stops here
        return [f"changed: WinDefend Status {service.Status} -> Running"]
    return _defender_realtime_enable(state, now)


@simulates("windows_defender_cloud_enable")
def _defender_cloud_enable(state: WindowsState, now: datetime) -> list[str]:
    _defender_running(state, "Get-MpPreference", "$preference = Get-MpPreference")
    defender = state.defender
    settings: dict[str, int] = {}  # from what Get-MpPreference reports: the values in force
    if defender.effective("MAPSReporting") == 0:
        settings["MAPSReporting"] = 2
    if defender.effective("SubmitSamplesConsent") == 2:
        settings["SubmitSamplesConsent"] = 1
    if defender.effective("PUAProtection") != 1:
        settings["PUAProtection"] = 1
    if not settings:
        return [
            "unchanged: cloud-delivered protection, sample submission and PUA blocking "
            "are already on"
        ]
    lines, before = [], {name: defender.effective(name) for name in settings}
    for name, value in settings.items():
        policy_name = POLICY_VALUE_NAMES.get(name, name)
        policy = getattr(defender, f"policy_{policy_name}")
        if policy is not None and policy != value:  # the policy value wins: removed
            lines.append(f"changed: policy {policy_name} {policy} -> removed")
            setattr(defender, f"policy_{policy_name}", None)
    for name, value in settings.items():  # Set-MpPreference, then read back
        setattr(defender, name, value)
    for name, value in settings.items():
        if defender.effective(name) != value:
            raise RunbookFailure(
                f"Defender keeps {name} at {defender.effective(name)}: Tamper Protection or a"
                " domain Group Policy sets it",
                near='throw "Defender keeps',
                printed=lines,
            )
    return lines + [f"changed: Defender {n} {before[n]} -> {v}" for n, v in settings.items()]


@simulates("windows_defender_signatures_update")
def _defender_signatures_update(state: WindowsState, now: datetime) -> list[str]:
    _defender_running(state, "Get-MpComputerStatus", "$before = Get-MpComputerStatus")
    defender = state.defender
    version = defender.AntivirusSignatureVersion
    last = defender.AntivirusSignatureLastUpdated
    missed = 1  # never updated: a release is certainly out
    if last is not None:
        age = now - parse_iso(last)
        missed = max(0, int(age / timedelta(hours=SIGNATURE_RELEASE_HOURS)))
    if missed == 0:
        return [f"unchanged: Defender signatures {version} are the newest available"]
    parts = version.split(".")
    parts[2] = str(int(parts[2]) + missed)
    defender.AntivirusSignatureVersion = ".".join(parts)
    defender.AntivirusSignatureLastUpdated = iso(now)
    return [f"changed: Defender signatures {version} -> {defender.AntivirusSignatureVersion}"]


@simulates("windows_defender_signatures_update", check_mode=True)
def _defender_signatures_check(state: WindowsState, now: datetime) -> list[str]:
    """Check mode cannot ask the sources: signatures at least one release old (the
    twin's model above, and the script's 8 hours) would be updated."""
    _defender_running(state, "Get-MpComputerStatus", "$before = Get-MpComputerStatus")
    defender = state.defender
    version, last = defender.AntivirusSignatureVersion, defender.AntivirusSignatureLastUpdated
    if last is None:
        return [f"changed: Defender signatures {version} (never updated) -> the newest published"]
    hours = int((now - parse_iso(last)) / timedelta(hours=1))
    if hours < SIGNATURE_RELEASE_HOURS:
        return [
            f"unchanged: Defender signatures {version} are less than "
            f"{SIGNATURE_RELEASE_HOURS} hours old"
        ]
    return [f"changed: Defender signatures {version} ({hours} hours old) -> the newest published"]


@simulates("windows_patch_install")
def _patch_install(state: WindowsState, now: datetime) -> list[str]:
    update = state.windows_update
    if update.search_error is not None:
        message = " ".join(update.search_error.split())
        raise RunbookFailure(
            f"Windows Update failed: {message}", near='throw "Windows Update failed'
        )
    if not update.pending:
        return ["unchanged: no update is pending"]
    lines = []
    for pending in update.pending:
        lines.append(f"changed: installed {pending.Title}")
        state.hotfixes += [HotFix(f"KB{kb}", iso(now)) for kb in pending.KBArticleIDs]
    update.pending = []
    update.RebootRequired = True
    lines.append("changed: a restart is needed to finish the installation (not restarted)")
    return lines


@simulates("windows_patch_install", check_mode=True)
def _patch_check(state: WindowsState, now: datetime) -> list[str]:
    """Check mode searches from the session (allowed remotely) and lists the updates."""
    update = state.windows_update
    if update.search_error is not None:
        message = " ".join(update.search_error.split())
        raise RunbookFailure(
            f"Windows Update failed: {message}", near='throw "Windows Update failed'
        )
    lines = [f"changed: update {pending.Title} pending -> installed" for pending in update.pending]
    return lines or ["unchanged: no update is pending"]


def _idle(now: datetime, last: str | None) -> timedelta | None:
    return None if last is None else now - parse_iso(last)


@simulates("windows_inactive_accounts_disable", variables=("osiris_fail_days",))
def _inactive_accounts_disable(state: WindowsState, now: datetime, fail_days: Any) -> list[str]:
    days = ps_int(fail_days)
    limit, lines = timedelta(days=days), []
    if state.domain_role >= 4:
        # Search-ADAccount -AccountInactive -TimeSpan 90 days; the twin's AD users carry no
        # SID, so the built-in Administrator (relative id 500) goes by its name
        for user in state.ad_users:
            idle = _idle(now, user.LastLogonDate)
            if not user.Enabled or idle is None or idle < limit:
                continue
            if user.SamAccountName == "Administrator":
                continue
            user.Enabled = False
            lines.append(
                f"changed: domain account {user.SamAccountName} "
                f"(last logon {idle.days} days ago) Enabled True -> False"
            )
    else:
        for account in state.user_accounts:
            idle = _idle(now, account.LastLogon)
            if not account.LocalAccount or account.Disabled or idle is None or idle <= limit:
                continue
            if account.SID.endswith("-500"):
                continue
            account.Disabled = True
            lines.append(
                f"changed: local account {account.Name} "
                f"(last logon {idle.days} days ago) Enabled True -> False"
            )
    return lines or [f"unchanged: no enabled account has been idle for more than {days} days"]
