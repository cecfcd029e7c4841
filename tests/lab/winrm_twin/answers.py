"""Twin answers for the first Windows checks: firewall, antivirus, encryption, SMB1, RDP,
accounts, policies, audit, services, disks, certificates and backup.

Each function mirrors its check's PowerShell probe (see ``answer_base``). Importing this
module also imports ``answers_system`` and ``answers_hardening``, so ``ANSWERS`` holds
every check's answer.
"""

from __future__ import annotations

import math
from datetime import datetime

from . import answers_hardening, answers_system
from .answer_base import (
    ANSWERS,
    Answer,
    Facts,
    ProbeError,
    answer,
    defender_answers,
    rounded_hours,
)
from .presets import AUDIT_GUIDS
from .state import WindowsState, parse_iso

__all__ = ["ANSWERS", "Answer", "Facts", "ProbeError", "answers_hardening", "answers_system"]


@answer("win_firewall")
def firewall(state: WindowsState, now: datetime) -> Facts:
    facts: Facts = {}
    for name in ("Domain", "Private", "Public"):
        profile = state.firewall_profile(name)
        if profile is None:
            raise ProbeError(
                "No MSFT_NetFirewallProfile objects found with property 'Name' equal to "
                f"'{name}'. Verify the value of the property and retry."
            )
        facts[f"{name.lower()}_enabled"] = profile.Enabled
        facts[f"{name.lower()}_inbound"] = profile.DefaultInboundAction
    return facts


@answer("win_av_status")
def av_status(state: WindowsState, now: datetime) -> Facts:
    facts: Facts = {
        "defender_present": False,
        "AntivirusEnabled": None,
        "RealTimeProtectionEnabled": None,
        "AMRunningMode": None,
        "third_party_av": [],
    }
    defender = state.defender
    if state.has_command("Get-MpComputerStatus") and defender.service_running:
        facts["defender_present"] = True
        facts["AntivirusEnabled"] = defender.AntivirusEnabled
        facts["RealTimeProtectionEnabled"] = defender.effective("RealTimeProtectionEnabled")
        facts["AMRunningMode"] = defender.AMRunningMode
    if state.role == "workstation":  # root/SecurityCenter2 exists on client Windows only
        facts["third_party_av"] = [
            product.displayName
            for product in state.antivirus_products
            if "defender" not in product.displayName.lower() and product.productState & 0x1000
        ]
    return facts


@answer("win_av_signatures")
def av_signatures(state: WindowsState, now: datetime) -> Facts:
    defender_answers(state)
    defender = state.defender
    age = None
    if defender.AntivirusSignatureLastUpdated:
        age = rounded_hours(now, defender.AntivirusSignatureLastUpdated)
    return {
        "AntivirusEnabled": defender.AntivirusEnabled,
        "AntivirusSignatureVersion": defender.AntivirusSignatureVersion,
        "signature_age_hours": age,
    }


@answer("win_bitlocker")
def bitlocker(state: WindowsState, now: datetime) -> Facts:
    fixed = {disk.DeviceID.upper() for disk in state.disks if disk.DriveType == 3}
    volumes = [
        {
            "MountPoint": volume.MountPoint,
            "VolumeType": volume.VolumeType,
            "ProtectionStatus": volume.ProtectionStatus,
            "VolumeStatus": volume.VolumeStatus,
            "EncryptionPercentage": float(volume.EncryptionPercentage),
        }
        for volume in state.bitlocker_volumes
        if volume.MountPoint.upper() in fixed
    ]
    return {"volumes": volumes}


@answer("win_smbv1")
def smbv1(state: WindowsState, now: datetime) -> Facts:
    return {
        "EnableSMB1Protocol": state.smb.EnableSMB1Protocol,
        "mrxsmb10_start": state.smb.mrxsmb10_start,
    }


@answer("win_rdp_nla")
def rdp_nla(state: WindowsState, now: datetime) -> Facts:
    facts: Facts = {"fDenyTSConnections": None, "UserAuthentication": None, "from_policy": []}
    for name in ("fDenyTSConnections", "UserAuthentication"):
        from_policy = getattr(state.rdp, f"policy_{name}")
        if from_policy is not None:
            facts[name] = from_policy
            facts["from_policy"].append(name)
            continue
        facts[name] = getattr(state.rdp, name)
    return facts


@answer("win_guest_disabled")
def guest_disabled(state: WindowsState, now: datetime) -> Facts:
    accounts = [
        {"Name": account.Name, "SID": account.SID, "Disabled": account.Disabled}
        for account in state.accounts_with_rid(501)
    ]
    return {"accounts": accounts}


def _system_access(state: WindowsState, names: tuple[str, ...]) -> Facts:
    if state.security_policy.export_denied:
        raise ProbeError("secedit /export failed with exit code 1")
    access = state.security_policy.system_access()
    return {name: access.get(name) for name in names}


@answer("win_password_policy")
def password_policy(state: WindowsState, now: datetime) -> Facts:
    names = (
        "MinimumPasswordLength",
        "PasswordComplexity",
        "PasswordHistorySize",
        "MaximumPasswordAge",
        "ClearTextPassword",
    )
    return _system_access(state, names)


@answer("win_lockout")
def lockout(state: WindowsState, now: datetime) -> Facts:
    return _system_access(state, ("LockoutBadCount", "LockoutDuration", "ResetLockoutCount"))


@answer("win_screen_lock")
def screen_lock(state: WindowsState, now: datetime) -> Facts:
    return {"InactivityTimeoutSecs": state.InactivityTimeoutSecs}


_AUDIT_FACTS = {
    "Credential Validation": "credential_validation",
    "Logon": "logon",
    "User Account Management": "user_account_management",
    "Removable Storage": "removable_storage",
}


@answer("win_audit_policy")
def audit_policy(state: WindowsState, now: datetime) -> Facts:
    wanted = {AUDIT_GUIDS[name]: fact for name, fact in _AUDIT_FACTS.items()}
    is_dc = state.domain_role >= 4
    if is_dc:
        wanted[AUDIT_GUIDS["Directory Service Changes"]] = "directory_service_changes"
    facts: Facts = {"is_domain_controller": is_dc}
    facts.update(dict.fromkeys(wanted.values()))
    if not is_dc:
        facts["directory_service_changes"] = None
    for row in state.audit_policy:  # auditpol prints only the subcategories asked for
        guid = row.Guid.upper()
        if guid in wanted:
            facts[wanted[guid]] = row.InclusionSetting
    return facts


@answer("win_critical_services")
def critical_services(state: WindowsState, now: datetime) -> Facts:
    services = []
    for name in ("EventLog", "MpsSvc", "NTDS", "Kdc", "Netlogon", "DNS", "W32Time"):
        service = state.service(name)
        if service is None:
            services.append({"Name": name, "Status": "NotFound", "StartType": "NotFound"})
        else:
            services.append(
                {"Name": name, "Status": service.Status, "StartType": service.StartType}
            )
    return {"is_domain_controller": state.domain_role >= 4, "services": services}


@answer("win_disk_space")
def disk_space(state: WindowsState, now: datetime) -> Facts:
    disks = []
    for disk in state.disks:
        if disk.DriveType != 3:
            continue
        free = round(100.0 * disk.FreeSpace / disk.Size, 1) if disk.Size > 0 else None
        disks.append(
            {
                "DeviceID": disk.DeviceID,
                "SizeGB": round(disk.Size / 1024**3, 1),
                "FreeGB": round(disk.FreeSpace / 1024**3, 1),
                "free_percent": free,
            }
        )
    return {"disks": disks}


@answer("win_cert_expiry")
def cert_expiry(state: WindowsState, now: datetime) -> Facts:
    certificates = [
        {
            "Subject": cert.Subject,
            "Thumbprint": cert.Thumbprint,
            "days_left": math.floor((parse_iso(cert.NotAfter) - now).total_seconds() / 86400),
        }
        for cert in state.certificates
    ]
    return {"certificates": certificates}


@answer("win_backup_recency")
def backup_recency(state: WindowsState, now: datetime) -> Facts:
    summary = state.backup
    if summary is None:
        raise ProbeError("There is no backup summary on this computer.")
    age = None
    if summary.LastSuccessfulBackupTime:
        age = rounded_hours(now, summary.LastSuccessfulBackupTime)
    return {
        "hours_since_success": age,
        "LastBackupResultHR": summary.LastBackupResultHR,
        "NumberOfVersions": summary.NumberOfVersions,
    }
