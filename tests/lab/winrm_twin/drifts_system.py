"""Named drifts for the system checks: patches, OS lifecycle, time, event logs, services,
disks, privileged and inactive accounts, and the account policies secedit reports.

Each function's docstring says what it changes and what the check then reports; the
registry is ``drift_base``. Times are relative to ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .components import (
    ADGroupMember,
    EventLogConfig,
    LocalGroupMember,
    LogicalDisk,
    PendingUpdate,
    Service,
    TimeService,
    UserAccount,
)
from .drift_base import DriftError, drift, existing_service, only_on
from .state import WindowsState, iso


def _iso_days_ago(now: datetime, days: float) -> str:
    return iso(now - timedelta(days=days))


# -- win_patch_level ------------------------------------------------------------------


@drift("patch_critical_overdue")
def _patch_critical_overdue(state: WindowsState, now: datetime) -> None:
    """A Critical cumulative update published 20 days ago is not installed.
    win_patch_level: fail."""
    state.windows_update.pending.append(
        PendingUpdate(
            "2025-02 Cumulative Update for Windows (KB5051987)",
            ["5051987"],
            "Critical",
            _iso_days_ago(now, 20),
        )
    )


@drift("patch_critical_new")
def _patch_critical_new(state: WindowsState, now: datetime) -> None:
    """A Critical update published 3 days ago is not installed yet. win_patch_level: warning."""
    state.windows_update.pending.append(
        PendingUpdate("Security Update (KB5052000)", ["5052000"], "Critical", _iso_days_ago(now, 3))
    )


@drift("patch_moderate_overdue")
def _patch_moderate_overdue(state: WindowsState, now: datetime) -> None:
    """A Moderate update published 21 days ago is not installed. win_patch_level: warning."""
    state.windows_update.pending.append(
        PendingUpdate(
            "Security Update (KB5050111)", ["5050111"], "Moderate", _iso_days_ago(now, 21)
        )
    )


@drift("patch_none_for_45_days")
def _patch_none_for_45_days(state: WindowsState, now: datetime) -> None:
    """The newest installed update is 45 days old. win_patch_level: fail."""
    for index, hotfix in enumerate(state.hotfixes):
        hotfix.InstalledOn = _iso_days_ago(now, 45 + index * 30)


@drift("patch_search_fails")
def _patch_search_fails(state: WindowsState, now: datetime) -> None:
    """The Windows Update search throws (WSUS unreachable); recent hotfixes.
    win_patch_level: error."""
    state.windows_update.search_error = (
        "Exception from HRESULT: 0x8024401C\r\n(the WSUS server did not answer in time)"
    )


@drift("patch_reboot_overdue")
def _patch_reboot_overdue(state: WindowsState, now: datetime) -> None:
    """Windows Update needs a reboot and the host has run 20 days. win_patch_level: warning."""
    state.windows_update.RebootRequired = True
    state.windows_update.PendingFileRenameOperations = [r"\??\C:\Windows\Temp\old.dll", ""]
    state.os.LastBootUpTime = _iso_days_ago(now, 20)


@drift("patch_reboot_recent")
def _patch_reboot_recent(state: WindowsState, now: datetime) -> None:
    """A reboot is pending (Component Based Servicing) but the host booted 2 days ago.
    win_patch_level: pass."""
    state.windows_update.RebootPending = True
    state.os.LastBootUpTime = _iso_days_ago(now, 2)


# -- win_os_supported -------------------------------------------------------------------


@drift("os_windows10")
def _os_windows10(state: WindowsState, now: datetime) -> None:
    """Workstations: Windows 10 Pro 22H2 (ended 2025-10-14). win_os_supported: warning
    when now is within 90 days of the end, fail after it."""
    only_on(state, "workstation")
    state.os.Caption, state.os.Version = "Microsoft Windows 10 Pro", "10.0.19045"
    state.os.BuildNumber, state.os.DisplayVersion = "19045", "22H2"


@drift("os_windows11_21h2")
def _os_windows11_21h2(state: WindowsState, now: datetime) -> None:
    """Workstations: Windows 11 Enterprise 21H2 (build 22000, ended). win_os_supported: fail."""
    only_on(state, "workstation")
    state.os.Caption, state.os.Version = "Microsoft Windows 11 Enterprise", "10.0.22000"
    state.os.BuildNumber, state.os.DisplayVersion, state.os.EditionID = (
        "22000",
        "21H2",
        "Enterprise",
    )


@drift("os_windows10_1909")
def _os_windows10_1909(state: WindowsState, now: datetime) -> None:
    """Workstations: Windows 10 Pro 1909 (build 18363, older than the table).
    win_os_supported: fail."""
    only_on(state, "workstation")
    state.os.Caption, state.os.Version = "Microsoft Windows 10 Pro", "10.0.18363"
    state.os.BuildNumber, state.os.DisplayVersion = "18363", None


@drift("os_server_2012r2")
def _os_server_2012r2(state: WindowsState, now: datetime) -> None:
    """Servers: Windows Server 2012 R2 (build 9600, ended 2023-10-10). win_os_supported: fail."""
    only_on(state, "member_server", "domain_controller")
    state.os.Caption = "Microsoft Windows Server 2012 R2 Standard"
    state.os.Version, state.os.BuildNumber, state.os.DisplayVersion = "6.3.9600", "9600", None


@drift("os_unknown_build")
def _os_unknown_build(state: WindowsState, now: datetime) -> None:
    """A build the lifecycle table does not know (an Insider build 27000).
    win_os_supported: warning."""
    state.os.Version, state.os.BuildNumber, state.os.DisplayVersion = "10.0.27000", "27000", None


# -- win_time_sync ------------------------------------------------------------------------


def _time(state: WindowsState) -> TimeService:
    if state.time_service is None:
        raise DriftError(f"{state.hostname} has no time service state")
    return state.time_service


@drift("time_free_running")
def _time_free_running(state: WindowsState, now: datetime) -> None:
    """w32tm reports Source "Free-running System Clock", never synchronised.
    win_time_sync: fail."""
    service = _time(state)
    service.Source, service.LastSuccessfulSyncTime, service.Stratum = (
        "Free-running System Clock",
        None,
        0,
    )


@drift("time_cmos_clock")
def _time_cmos_clock(state: WindowsState, now: datetime) -> None:
    """w32tm reports Source "Local CMOS Clock" (synced long ago, then fell back).
    win_time_sync: fail."""
    _time(state).Source = "Local CMOS Clock"


@drift("time_sync_stale")
def _time_sync_stale(state: WindowsState, now: datetime) -> None:
    """The last successful synchronisation was 3 days ago. win_time_sync: warning."""
    _time(state).LastSuccessfulSyncTime = _iso_days_ago(now, 3)


@drift("time_skewed")
def _time_skewed(state: WindowsState, now: datetime) -> None:
    """The clock is 7 minutes behind its source (Phase Offset -420 s). win_time_sync: fail."""
    _time(state).PhaseOffset = -420.25


@drift("time_service_stopped")
def _time_service_stopped(state: WindowsState, now: datetime) -> None:
    """The Windows Time service is stopped: w32tm fails with 0x80070426.
    win_time_sync: fail."""
    _time(state).service_running = False
    existing_service(state, "W32Time").Status = "Stopped"


@drift("time_vm_host")
def _time_vm_host(state: WindowsState, now: datetime) -> None:
    """The clock follows the Hyper-V host (VM IC Time Synchronization Provider).
    win_time_sync: warning."""
    _time(state).Source = "VM IC Time Synchronization Provider"


@drift("time_localized")
def _time_localized(state: WindowsState, now: datetime) -> None:
    """w32tm prints German labels ("Quelle:"), so no label matches. win_time_sync: error."""
    _time(state).localized = True


# -- win_log_retention -------------------------------------------------------------------


def _security_log(state: WindowsState) -> EventLogConfig:
    log = state.event_log("Security")
    if log is None:
        raise DriftError(f"{state.hostname} has no Security log")
    return log


@drift("log_security_small")
def _log_security_small(state: WindowsState, now: datetime) -> None:
    """Security log at the Windows default of 20,480 KB (history still 120 days).
    win_log_retention: warning."""
    _security_log(state).MaximumSizeInBytes = 20480 * 1024


@drift("log_retain_mode")
def _log_retain_mode(state: WindowsState, now: datetime) -> None:
    """Security log LogMode Retain: new events are lost when it is full.
    win_log_retention: warning."""
    _security_log(state).LogMode = "Retain"


@drift("log_short_history")
def _log_short_history(state: WindowsState, now: datetime) -> None:
    """The oldest Security event is 45 days old, nothing forwards. win_log_retention: warning."""
    _security_log(state).OldestEventTime = _iso_days_ago(now, 45)


@drift("log_cleared")
def _log_cleared(state: WindowsState, now: datetime) -> None:
    """The Security log was cleared 2 days ago. win_log_retention: fail."""
    _security_log(state).OldestEventTime = _iso_days_ago(now, 2)


@drift("log_empty")
def _log_empty(state: WindowsState, now: datetime) -> None:
    """The Security log holds no event at all. win_log_retention: fail."""
    _security_log(state).OldestEventTime = None


@drift("log_forwarded")
def _log_forwarded(state: WindowsState, now: datetime) -> None:
    """A 10-day Security log, but the Splunk forwarder runs. win_log_retention: pass."""
    _security_log(state).OldestEventTime = _iso_days_ago(now, 10)
    state.services.append(Service("SplunkForwarder"))


@drift("log_wef")
def _log_wef(state: WindowsState, now: datetime) -> None:
    """A 10-day Security log forwarded by a Windows Event Forwarding subscription.
    win_log_retention: pass."""
    _security_log(state).OldestEventTime = _iso_days_ago(now, 10)
    state.SubscriptionManager = (
        "Server=http://wec01.practice.local:5985/wsman/SubscriptionManager/WEC"
    )


# -- win_critical_services ------------------------------------------------------------------


@drift("eventlog_stopped")
def _eventlog_stopped(state: WindowsState, now: datetime) -> None:
    """The Windows Event Log service is stopped. win_critical_services: fail."""
    existing_service(state, "EventLog").Status = "Stopped"


@drift("firewall_service_manual")
def _firewall_service_manual(state: WindowsState, now: datetime) -> None:
    """MpsSvc runs but its StartType is Manual. win_critical_services: warning."""
    existing_service(state, "MpsSvc").StartType = "Manual"


@drift("disk_size_zero")
def _disk_size_zero(state: WindowsState, now: datetime) -> None:
    """A fixed disk reports Size 0 (an offline volume). win_disk_space: error."""
    state.disks.append(LogicalDisk("E:", 0, 0))


# -- accounts and account policy --------------------------------------------------------


@drift("admin_unapproved_local")
def _admin_unapproved_local(state: WindowsState, now: datetime) -> None:
    """Workstations and member servers: a local account "helpdesk" is an administrator.
    win_admin_accounts: fail (warning when the site lists it in excepted_admins)."""
    only_on(state, "workstation", "member_server")
    state.administrators.append(LocalGroupMember(f"{state.hostname}\\helpdesk"))


@drift("admin_unapproved_domain")
def _admin_unapproved_domain(state: WindowsState, now: datetime) -> None:
    """Domain controllers: "jsmith" is a member of Domain Admins. win_admin_accounts: fail."""
    only_on(state, "domain_controller")
    state.ad_group_members.append(ADGroupMember("Domain Admins", "jsmith"))


@drift("inactive_local_account")
def _inactive_local_account(state: WindowsState, now: datetime) -> None:
    """Workstations and member servers: an enabled local account last used 120 days ago.
    win_inactive_accounts: fail."""
    only_on(state, "workstation", "member_server")
    state.user_accounts.append(
        UserAccount("temp.nurse", f"{_domain_sid(state)}-1005", LastLogon=_iso_days_ago(now, 120))
    )


@drift("inactive_local_dormant")
def _inactive_local_dormant(state: WindowsState, now: datetime) -> None:
    """Workstations and member servers: an enabled local account last used 60 days ago.
    win_inactive_accounts: warning."""
    only_on(state, "workstation", "member_server")
    state.user_accounts.append(
        UserAccount("scanner", f"{_domain_sid(state)}-1006", LastLogon=_iso_days_ago(now, 60))
    )


@drift("inactive_never_logged_on")
def _inactive_never_logged_on(state: WindowsState, now: datetime) -> None:
    """Workstations and member servers: an enabled local account that never logged on.
    win_inactive_accounts: warning."""
    only_on(state, "workstation", "member_server")
    state.user_accounts.append(UserAccount("vendor", f"{_domain_sid(state)}-1007"))


@drift("inactive_ad_user")
def _inactive_ad_user(state: WindowsState, now: datetime) -> None:
    """Domain controllers: "frontdesk" last logged on 100 days ago.
    win_inactive_accounts: fail."""
    only_on(state, "domain_controller")
    user = next(u for u in state.ad_users if u.SamAccountName == "frontdesk")
    user.LastLogonDate = _iso_days_ago(now, 100)


def _domain_sid(state: WindowsState) -> str:
    return state.accounts_with_rid(501)[0].SID.rsplit("-", 1)[0]


@drift("secedit_denied")
def _secedit_denied(state: WindowsState, now: datetime) -> None:
    """secedit /export fails (the session is not elevated). win_password_policy and
    win_lockout: error (their probes throw)."""
    state.security_policy.export_denied = True


@drift("guest_missing")
def _guest_missing(state: WindowsState, now: datetime) -> None:
    """No account with relative id 501 is found. win_guest_disabled: error."""
    state.user_accounts = [a for a in state.user_accounts if not a.SID.endswith("-501")]
