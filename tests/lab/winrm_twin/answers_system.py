"""Twin answers for the system checks: patches, OS lifecycle, time, event logs, and the
privileged and inactive accounts. Each function mirrors its check's PowerShell probe
(checks/<id>.yaml) step by step; see ``answer_base``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from .answer_base import (
    Facts,
    ProbeError,
    answer,
    domain_controller,
    rounded_days,
    whole_days,
)
from .state import WindowsState, parse_iso

# w32tm's exit code when the Windows Time service is stopped: HRESULT 0x80070426
W32TM_NOT_STARTED = -2147023834
FORWARDING_AGENTS = (
    "SplunkForwarder",
    "nxlog",
    "winlogbeat",
    "elastic-agent",
    "WazuhSvc",
    "OssecSvc",
)


@answer("win_patch_level")
def patch_level(state: WindowsState, now: datetime) -> Facts:
    update = state.windows_update
    facts: Facts = {
        "pending": None,
        "search_error": None,
        "newest_hotfix": None,
        "days_since_last_patch": None,
        "reboot_markers": [],
        "days_since_boot": None,
    }
    if update.search_error is not None:  # the COM search threw
        facts["search_error"] = " ".join(update.search_error.split())
    else:
        facts["pending"] = [
            {
                "Title": pending.Title,
                "KB": ",".join(f"KB{kb}" for kb in pending.KBArticleIDs),
                "MsrcSeverity": pending.MsrcSeverity,
                "age_days": (
                    whole_days(now, pending.LastDeploymentChangeTime)
                    if pending.LastDeploymentChangeTime
                    else None
                ),
            }
            for pending in update.pending
        ]
    dated = [hotfix for hotfix in state.hotfixes if hotfix.InstalledOn]
    if dated:
        newest = max(dated, key=lambda hotfix: parse_iso(hotfix.InstalledOn or ""))
        facts["newest_hotfix"] = newest.HotFixID
        facts["days_since_last_patch"] = whole_days(now, newest.InstalledOn or "")
    markers = {"RebootRequired": update.RebootRequired, "RebootPending": update.RebootPending}
    facts["reboot_markers"] = [name for name, present in markers.items() if present]
    if any(update.PendingFileRenameOperations):
        facts["reboot_markers"].append("PendingFileRenameOperations")
    facts["days_since_boot"] = rounded_days(now, state.os.LastBootUpTime)
    return facts


@answer("win_os_supported")
def os_supported(state: WindowsState, now: datetime) -> Facts:
    system = state.os
    build = int(system.BuildNumber)
    edition = system.EditionID
    if system.ProductType != 1:
        key = f"server-{build}"
    else:
        family = "win11" if build >= 22000 else "win10"
        channel = "pro"
        if re.search(r"^(IoT)?EnterpriseSN?$", edition, re.IGNORECASE):
            channel = "ltsc"
        elif re.search(r"^(Enterprise|Education|IoTEnterprise)", edition, re.IGNORECASE):
            channel = "ent"
        key = f"{family}-{build}-{channel}"
    return {  # the twin's hosts keep UTC, so Get-Date is ``now``
        "Caption": system.Caption,
        "BuildNumber": system.BuildNumber,
        "EditionID": edition,
        "DisplayVersion": system.DisplayVersion or None,
        "lifecycle_key": key,
        "build": build,
        "today": int(now.strftime("%Y%m%d")),
        "today_plus_90": int((now + timedelta(days=90)).strftime("%Y%m%d")),
    }


def _w32tm_time(text: str) -> str:
    """Last Successful Sync Time as w32tm prints it in en-US: 3/3/2025 8:50:12 AM."""
    moment = parse_iso(text)
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {suffix}"


@answer("win_time_sync")
def time_sync(state: WindowsState, now: datetime) -> Facts:
    service = state.time_service
    facts: Facts = {
        "w32tm_exit": 0,
        "w32tm_error": None,
        "Source": None,
        "Stratum": None,
        "LastSuccessfulSyncTime": None,
        "hours_since_sync": None,
        "offset_seconds": None,
    }
    if service is None or not service.service_running:
        facts["w32tm_exit"] = W32TM_NOT_STARTED
        facts["w32tm_error"] = (
            "The following error occurred: The service has not been started. (0x80070426)"
        )
        return facts
    if service.localized:  # no English label matches
        return facts
    facts["Source"] = service.Source
    facts["Stratum"] = service.Stratum
    last = service.LastSuccessfulSyncTime
    facts["LastSuccessfulSyncTime"] = _w32tm_time(last) if last else "unspecified"
    if last:
        facts["hours_since_sync"] = round((now - parse_iso(last)).total_seconds() / 3600, 1)
    facts["offset_seconds"] = round(abs(service.PhaseOffset), 3)
    return facts


@answer("win_log_retention")
def log_retention(state: WindowsState, now: datetime) -> Facts:
    logs = {name: state.event_log(name) for name in ("Security", "Application")}
    for name, log in logs.items():
        if log is None:
            raise ProbeError(
                f'There is not an event log on the localhost computer that matches "{name}".'
            )
    security, application = logs["Security"], logs["Application"]
    assert security is not None and application is not None
    oldest = None
    if security.OldestEventTime:
        oldest = rounded_days(now, security.OldestEventTime)
    forwarders = [
        name
        for name in FORWARDING_AGENTS
        if (service := state.service(name)) is not None and service.Status == "Running"
    ]
    if state.SubscriptionManager is not None:
        forwarders.append("Windows Event Forwarding")
    return {
        "security_max_kb": round(security.MaximumSizeInBytes / 1024),
        "security_log_mode": security.LogMode,
        "application_max_kb": round(application.MaximumSizeInBytes / 1024),
        "security_oldest_days": oldest,
        "forwarders": forwarders,
    }


def _ad_cmdlets(state: WindowsState, *names: str) -> None:
    for name in names:
        if not state.has_command(name):
            raise ProbeError(
                f"The term '{name}' is not recognized as the name of a cmdlet, function, "
                "script file, or operable program."
            )


AD_ADMIN_GROUPS = ("Administrators", "Domain Admins", "Enterprise Admins", "Schema Admins")


@answer("win_admin_accounts")
def admin_accounts(state: WindowsState, now: datetime) -> Facts:
    is_dc = domain_controller(state)
    if is_dc:
        _ad_cmdlets(state, "Get-ADDomain", "Get-ADGroupMember")
        members = [
            {
                "group": group,
                "Name": member.SamAccountName,
                "ObjectClass": member.objectClass,
                "PrincipalSource": "ActiveDirectory",
            }
            for group in AD_ADMIN_GROUPS
            for member in state.ad_group_members
            if member.group == group
        ]
    else:
        members = [
            {
                "group": "Administrators",
                "Name": member.Name.split("\\")[-1],
                "ObjectClass": member.ObjectClass,
                "PrincipalSource": member.PrincipalSource,
            }
            for member in state.administrators
        ]
    return {"is_domain_controller": is_dc, "members": members}


@answer("win_inactive_accounts")
def inactive_accounts(state: WindowsState, now: datetime) -> Facts:
    is_dc = domain_controller(state)
    found: list[tuple[str, str | None]]
    if is_dc:
        _ad_cmdlets(state, "Search-ADAccount")
        cutoff = now - timedelta(days=30)
        found = [
            (user.SamAccountName, user.LastLogonDate)
            for user in state.ad_users
            if user.Enabled
            and (user.LastLogonDate is None or parse_iso(user.LastLogonDate) <= cutoff)
        ]
    else:
        found = [
            (account.Name, account.LastLogon)
            for account in state.user_accounts
            if account.LocalAccount and not account.Disabled
        ]
    accounts = [
        {"Name": name, "days_inactive": whole_days(now, last) if last else None}
        for name, last in found
    ]
    return {"is_domain_controller": is_dc, "accounts": accounts}
