"""Named drifts for the first Windows checks (firewall, antivirus, BitLocker, SMB1, RDP,
accounts, policies, audit, services, disks, certificates, backup): each breaks one check
the way an admin or malware would.

The registry (``DRIFTS``, ``apply_drift``, ``DriftError``) is in ``drift_base``; importing
this module also registers the drifts of ``drifts_system`` and ``drifts_hardening``.
Times are relative to ``now`` (default: the current time).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from . import drifts_hardening, drifts_system
from .components import AuditSubcategory, BackupSummary, LogicalDisk
from .controls import AntivirusProduct, FirewallProfile
from .drift_base import DRIFTS, Drift, DriftError, apply_drift, drift, existing_service, only_on
from .state import WindowsState, iso

__all__ = [
    "DRIFTS",
    "Drift",
    "DriftError",
    "apply_drift",
    "drifts_hardening",
    "drifts_system",
    "only_on",
]


def _profile(state: WindowsState, name: str) -> FirewallProfile:
    found = state.firewall_profile(name)
    if found is None:
        raise DriftError(f"no firewall profile {name}")
    return found


def _audit(state: WindowsState, name: str) -> AuditSubcategory:
    return next(a for a in state.audit_policy if a.Subcategory == name)


@drift("firewall_public_off")
def _firewall_public_off(state: WindowsState, now: datetime) -> None:
    """Public profile Enabled False. win_firewall: fail."""
    _profile(state, "Public").Enabled = False


@drift("firewall_domain_off")
def _firewall_domain_off(state: WindowsState, now: datetime) -> None:
    """Domain profile Enabled False (Public still on). win_firewall: warning."""
    _profile(state, "Domain").Enabled = False


@drift("firewall_public_allow_inbound")
def _firewall_public_allow(state: WindowsState, now: datetime) -> None:
    """Public profile DefaultInboundAction Allow. win_firewall: fail."""
    _profile(state, "Public").DefaultInboundAction = "Allow"


@drift("firewall_private_allow_inbound")
def _firewall_private_allow(state: WindowsState, now: datetime) -> None:
    """Private profile DefaultInboundAction Allow. win_firewall: warning."""
    _profile(state, "Private").DefaultInboundAction = "Allow"


@drift("winrm_needs_firewall_off")
def _winrm_needs_firewall_off(state: WindowsState, now: datetime) -> None:
    """osiris comes in on a Public network whose firewall profile is off, and the
    built-in WinRM rules are disabled: WinRM works only while the profile stays off, so
    turning it on (windows_firewall_enable) cuts osiris off. win_firewall: fail."""
    _profile(state, "Public").Enabled = False
    state.winrm.network_profile = "Public"
    state.winrm.rules_enabled = False


@drift("av_realtime_off")
def _av_realtime_off(state: WindowsState, now: datetime) -> None:
    """Defender RealTimeProtectionEnabled False. win_av_status: fail."""
    state.defender.RealTimeProtectionEnabled = False


@drift("av_realtime_policy_off")
def _av_realtime_policy_off(state: WindowsState, now: datetime) -> None:
    """A policy value turns real-time protection off (DisableRealtimeMonitoring 1, as a
    script that "speeds up" a machine leaves it); the local preference is still on, so
    Set-MpPreference alone changes nothing. win_av_status: fail."""
    state.defender.policy_DisableRealtimeMonitoring = 1


@drift("av_off")
def _av_off(state: WindowsState, now: datetime) -> None:
    """Defender left passive by a third-party antivirus since removed: AntivirusEnabled
    and RealTimeProtectionEnabled False, nothing else registered.
    win_av_status: fail; win_av_signatures: na."""
    state.defender.AntivirusEnabled = False
    state.defender.RealTimeProtectionEnabled = False
    state.defender.AMRunningMode = "Passive Mode"
    state.antivirus_products = [p for p in state.antivirus_products if "Defender" in p.displayName]


@drift("third_party_av")
def _third_party_av(state: WindowsState, now: datetime) -> None:
    """Workstations: a third-party antivirus is on and Defender is passive.
    win_av_status: pass; win_av_signatures: na."""
    if state.role != "workstation":
        raise DriftError("Security Center (root/SecurityCenter2) exists on workstations only")
    _av_off(state, now)
    state.antivirus_products.append(AntivirusProduct("Sophos Intercept X", 266240))


@drift("defender_stopped")
def _defender_stopped(state: WindowsState, now: datetime) -> None:
    """The Defender service is stopped: Get-MpComputerStatus and Get-MpPreference throw.
    win_av_status: fail; win_av_signatures, win_defender_exclusions and
    win_defender_cloud: error (their probes throw)."""
    state.defender.service_running = False
    existing_service(state, "WinDefend").Status = "Stopped"


@drift("av_signatures_aging")
def _av_signatures_aging(state: WindowsState, now: datetime) -> None:
    """Signatures last updated 40 hours ago. win_av_signatures: warning."""
    state.defender.AntivirusSignatureLastUpdated = iso(now - timedelta(hours=40))


@drift("av_signatures_stale")
def _av_signatures_stale(state: WindowsState, now: datetime) -> None:
    """Signatures last updated 5 days ago. win_av_signatures: fail."""
    state.defender.AntivirusSignatureLastUpdated = iso(now - timedelta(days=5))


@drift("bitlocker_off")
def _bitlocker_off(state: WindowsState, now: datetime) -> None:
    """C: decrypted (ProtectionStatus Off, FullyDecrypted). win_bitlocker: fail."""
    volume = state.bitlocker_volumes[0]
    volume.ProtectionStatus, volume.VolumeStatus = "Off", "FullyDecrypted"
    volume.EncryptionPercentage = 0.0


@drift("bitlocker_encrypting")
def _bitlocker_encrypting(state: WindowsState, now: datetime) -> None:
    """C: 42.5 % through encryption, not yet protected. win_bitlocker: warning."""
    volume = state.bitlocker_volumes[0]
    volume.ProtectionStatus, volume.VolumeStatus = "Off", "EncryptionInProgress"
    volume.EncryptionPercentage = 42.5


@drift("bitlocker_suspended")
def _bitlocker_suspended(state: WindowsState, now: datetime) -> None:
    """C: fully encrypted but protection suspended (Suspend-BitLocker). win_bitlocker: warning."""
    state.bitlocker_volumes[0].ProtectionStatus = "Off"


@drift("bitlocker_feature_missing")
def _bitlocker_feature_missing(state: WindowsState, now: datetime) -> None:
    """The BitLocker feature is not installed: no Get-BitLockerVolume, no volumes.
    win_bitlocker: fail (its when_missing)."""
    state.available_cmdlets = [c for c in state.available_cmdlets if c != "Get-BitLockerVolume"]
    state.bitlocker_volumes = []


@drift("smb1_on")
def _smb1_on(state: WindowsState, now: datetime) -> None:
    """The SMB server accepts SMB1 (EnableSMB1Protocol True). win_smbv1: fail."""
    state.smb.EnableSMB1Protocol = True


@drift("smb1_client_on")
def _smb1_client_on(state: WindowsState, now: datetime) -> None:
    """The SMB1 client driver mrxsmb10 is installed, Start 3. win_smbv1: fail."""
    state.smb.mrxsmb10_start = 3


@drift("rdp_no_nla")
def _rdp_no_nla(state: WindowsState, now: datetime) -> None:
    """Remote Desktop on (fDenyTSConnections 0) without NLA (UserAuthentication 0).
    win_rdp_nla: fail."""
    state.rdp.fDenyTSConnections = 0
    state.rdp.UserAuthentication = 0


@drift("rdp_policy_no_nla")
def _rdp_policy_no_nla(state: WindowsState, now: datetime) -> None:
    """Remote Desktop on; a Group Policy sets UserAuthentication 0 over the local 1.
    win_rdp_nla: fail."""
    state.rdp.fDenyTSConnections = 0
    state.rdp.UserAuthentication = 1
    state.rdp.policy_UserAuthentication = 0


@drift("guest_enabled")
def _guest_enabled(state: WindowsState, now: datetime) -> None:
    """The built-in Guest account (RID 501) is enabled. win_guest_disabled: fail."""
    for account in state.accounts_with_rid(501):
        account.Disabled = False


@drift("password_short")
def _password_short(state: WindowsState, now: datetime) -> None:
    """MinimumPasswordLength 8. win_password_policy: fail."""
    state.security_policy.MinimumPasswordLength = 8


@drift("password_length_12")
def _password_length_12(state: WindowsState, now: datetime) -> None:
    """MinimumPasswordLength 12. win_password_policy: warning."""
    state.security_policy.MinimumPasswordLength = 12


@drift("password_complexity_off")
def _password_complexity_off(state: WindowsState, now: datetime) -> None:
    """PasswordComplexity 0. win_password_policy: fail."""
    state.security_policy.PasswordComplexity = 0


@drift("password_history_short")
def _password_history_short(state: WindowsState, now: datetime) -> None:
    """PasswordHistorySize 5. win_password_policy: warning."""
    state.security_policy.PasswordHistorySize = 5


@drift("lockout_off")
def _lockout_off(state: WindowsState, now: datetime) -> None:
    """LockoutBadCount 0 (secedit then omits duration and reset). win_lockout: fail."""
    policy = state.security_policy
    policy.LockoutBadCount, policy.LockoutDuration, policy.ResetLockoutCount = 0, None, None


@drift("lockout_lenient")
def _lockout_lenient(state: WindowsState, now: datetime) -> None:
    """LockoutBadCount 8. win_lockout: warning."""
    state.security_policy.LockoutBadCount = 8


@drift("lockout_short_duration")
def _lockout_short_duration(state: WindowsState, now: datetime) -> None:
    """LockoutDuration 5 minutes. win_lockout: warning."""
    state.security_policy.LockoutDuration = 5


@drift("screen_lock_off")
def _screen_lock_off(state: WindowsState, now: datetime) -> None:
    """No InactivityTimeoutSecs policy. win_screen_lock: fail."""
    state.InactivityTimeoutSecs = None


@drift("screen_lock_long")
def _screen_lock_long(state: WindowsState, now: datetime) -> None:
    """InactivityTimeoutSecs 1200. win_screen_lock: warning."""
    state.InactivityTimeoutSecs = 1200


@drift("audit_logon_off")
def _audit_logon_off(state: WindowsState, now: datetime) -> None:
    """Logon subcategory "No Auditing". win_audit_policy: fail."""
    _audit(state, "Logon").InclusionSetting = "No Auditing"


@drift("audit_success_only")
def _audit_success_only(state: WindowsState, now: datetime) -> None:
    """User Account Management "Success" only. win_audit_policy: warning."""
    _audit(state, "User Account Management").InclusionSetting = "Success"


@drift("audit_ds_changes_off")
def _audit_ds_changes_off(state: WindowsState, now: datetime) -> None:
    """Directory Service Changes "No Auditing" (matters on DCs). win_audit_policy: warning
    on a domain controller."""
    _audit(state, "Directory Service Changes").InclusionSetting = "No Auditing"


@drift("dc_service_stopped")
def _dc_service_stopped(state: WindowsState, now: datetime) -> None:
    """Domain controllers: NTDS Stopped. win_critical_services: fail."""
    existing_service(state, "NTDS").Status = "Stopped"


@drift("dc_service_manual")
def _dc_service_manual(state: WindowsState, now: datetime) -> None:
    """Domain controllers: Netlogon running but StartType Manual. win_critical_services:
    warning."""
    if state.role != "domain_controller":
        raise DriftError("only a domain controller depends on Netlogon this way")
    existing_service(state, "Netlogon").StartType = "Manual"


def _system_disk(state: WindowsState) -> LogicalDisk:
    return next(d for d in state.disks if d.DeviceID == "C:")


@drift("disk_low")
def _disk_low(state: WindowsState, now: datetime) -> None:
    """C: 15 % free. win_disk_space: warning."""
    disk = _system_disk(state)
    disk.FreeSpace = disk.Size * 15 // 100


@drift("disk_full")
def _disk_full(state: WindowsState, now: datetime) -> None:
    """C: 4 % free. win_disk_space: fail."""
    disk = _system_disk(state)
    disk.FreeSpace = disk.Size * 4 // 100


@drift("cert_expiring")
def _cert_expiring(state: WindowsState, now: datetime) -> None:
    """A machine certificate expires in 10 days. win_cert_expiry: warning."""
    state.certificates[0].NotAfter = iso(now + timedelta(days=10, hours=2))


@drift("cert_expired")
def _cert_expired(state: WindowsState, now: datetime) -> None:
    """A machine certificate expired 3 days ago. win_cert_expiry: fail."""
    state.certificates[0].NotAfter = iso(now - timedelta(days=3))


def _backup(state: WindowsState) -> BackupSummary:
    if state.backup is None:
        raise DriftError(f"{state.hostname} has no Windows Server Backup")
    return state.backup


@drift("backup_aging")
def _backup_aging(state: WindowsState, now: datetime) -> None:
    """Servers: last successful backup 30 hours ago. win_backup_recency: warning."""
    summary = _backup(state)
    summary.LastSuccessfulBackupTime = summary.LastBackupTime = iso(now - timedelta(hours=30))


@drift("backup_stale")
def _backup_stale(state: WindowsState, now: datetime) -> None:
    """Servers: last successful backup 9 days ago. win_backup_recency: fail."""
    summary = _backup(state)
    summary.LastSuccessfulBackupTime = summary.LastBackupTime = iso(now - timedelta(days=9))


@drift("backup_failed")
def _backup_failed(state: WindowsState, now: datetime) -> None:
    """Servers: the last backup (an hour ago) failed with 0x80070070 (disk full).
    win_backup_recency: fail."""
    summary = _backup(state)
    summary.LastBackupTime = iso(now - timedelta(hours=1))
    summary.LastBackupResultHR = summary.LastBackupResultDetailedHR = -2147024784


@drift("backup_never")
def _backup_never(state: WindowsState, now: datetime) -> None:
    """Servers: Windows Server Backup installed but never succeeded.
    win_backup_recency: fail."""
    summary = _backup(state)
    summary.LastSuccessfulBackupTime = None
    summary.NumberOfVersions = 0


@drift("backup_feature_missing")
def _backup_feature_missing(state: WindowsState, now: datetime) -> None:
    """Windows Server Backup not installed: no Get-WBSummary.
    win_backup_recency: fail (its when_missing)."""
    state.available_cmdlets = [c for c in state.available_cmdlets if c != "Get-WBSummary"]
    state.backup = None
