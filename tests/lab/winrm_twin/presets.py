"""Preset Windows hosts for the WinRM twin.

Profiles (``build_preset(role, profile)``, also ``WindowsState.preset``):

- ``clean``: a well-run host of the role; every Windows check in the catalog passes.
  workstation: Windows 11 Pro 25H2 (supported to 2027-10-12), domain member, Defender
  registered with Security Center, BitLocker on C:, Remote Desktop off, no Windows
  Server Backup, Duo for Windows Logon, USB writes denied, LLMNR and NetBIOS off.
  member_server: Windows Server 2022 Standard, domain member, BitLocker feature on C:
  and D:, Windows Server Backup installed and recent, Remote Desktop on with NLA.
  domain_controller: as member_server plus NTDS, Kdc, Netlogon, DNS running, the Print
  Spooler disabled, Directory Service Changes audited, a PDC that syncs from external
  NTP, and only Administrator in the privileged AD groups.
- ``drifted``: ``clean`` plus the drifts in ``DRIFTED_PROFILE`` (firewall Public off,
  SMB1 on, Guest enabled, RDP without NLA, stale signatures, short passwords, no
  lockout, no screen lock, LLMNR on, unsigned SMB): several checks fail at once, as on a
  neglected host.

Named per-check drifts are in ``drifts.py`` and its siblings (``apply_drift``,
``DRIFTS``); they are re-exported here so tests import one module. Times are relative to
``now`` (default: the current time).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from osiris.model import Role

from .components import (
    MICROSOFT_SIGNER,
    ADGroupMember,
    ADUser,
    AuditSubcategory,
    BackupSummary,
    Certificate,
    EventLogConfig,
    FileSignature,
    HotFix,
    LocalGroupMember,
    LogicalDisk,
    OperatingSystem,
    RunValue,
    ScheduledTask,
    Service,
    TimeService,
    UserAccount,
)
from .controls import (
    DUO_CREDENTIAL_PROVIDER,
    INBOX_CREDENTIAL_PROVIDERS,
    AntivirusProduct,
    BitLockerVolume,
    Defender,
    FirewallProfile,
    NetworkAdapterConfiguration,
    RemoteDesktop,
    SchannelProtocol,
    UsbStoragePolicy,
)
from .drifts import DRIFTS, DriftError, apply_drift
from .state import OSIRIS_ROLES, TwinRole, WindowsState, iso, now_utc

GIB = 1024**3
DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
LOCAL_SID = "S-1-5-21-3623811015-3361044348-30300820"

AUDIT_GUIDS = {
    "Credential Validation": "{0CCE923F-69AE-11D9-BED3-505054503030}",
    "Logon": "{0CCE9215-69AE-11D9-BED3-505054503030}",
    "User Account Management": "{0CCE9235-69AE-11D9-BED3-505054503030}",
    "Removable Storage": "{0CCE9245-69AE-11D9-BED3-505054503030}",
    "Security Group Management": "{0CCE9237-69AE-11D9-BED3-505054503030}",
    "Directory Service Changes": "{0CCE923C-69AE-11D9-BED3-505054503030}",
}

BASE_COMMANDS = (
    "Get-AuthenticodeSignature",
    "Get-ChildItem",
    "Get-CimInstance",
    "Get-Command",
    "Get-HotFix",
    "Get-Item",
    "Get-ItemProperty",
    "Get-LocalGroupMember",
    "Get-LocalUser",
    "Get-MpComputerStatus",
    "Get-MpPreference",
    "Get-NetFirewallProfile",
    "Get-ScheduledTask",
    "Get-Service",
    "Get-SmbClientConfiguration",
    "Get-SmbServerConfiguration",
    "Get-WinEvent",
    "New-Item",
    "Set-CimInstance",
    "Set-ItemProperty",
    "Set-MpPreference",
    "Set-NetFirewallProfile",
    "Set-Service",
    "Set-SmbClientConfiguration",
    "Set-SmbServerConfiguration",
    "Stop-Service",
    "Test-Path",
    "Update-MpSignature",
    "auditpol",
    "sc.exe",
    "secedit",
    "w32tm",
)
DC_COMMANDS = (
    "Get-ADDefaultDomainPasswordPolicy",
    "Get-ADDomain",
    "Get-ADGroupMember",
    "Search-ADAccount",
    "Set-ADDefaultDomainPasswordPolicy",
)

__all__ = ["DRIFTED_PROFILE", "DRIFTS", "DriftError", "apply_drift", "build_preset", "twin_role"]

DRIFTED_PROFILE = (
    "firewall_public_off",
    "smb1_on",
    "guest_enabled",
    "rdp_no_nla",
    "av_signatures_stale",
    "password_short",
    "lockout_off",
    "screen_lock_off",
    "llmnr_on",
    "smb_signing_server_off",
)


def twin_role(role: TwinRole | Role | str) -> TwinRole:
    """Accept the twin's role names and Osiris's (``server`` is a member server)."""
    for name, osiris_role in OSIRIS_ROLES.items():
        if role in (name, osiris_role):
            return name
    raise ValueError(f"unknown Windows role {role!r}")


def build_preset(
    role: TwinRole | Role | str, profile: str = "clean", *, now: datetime | None = None
) -> WindowsState:
    """A fresh host of ``role`` in ``profile`` ("clean" or "drifted")."""
    moment = now or now_utc()
    state = _clean(twin_role(role), moment)
    if profile == "drifted":
        for name in DRIFTED_PROFILE:
            apply_drift(state, name, now=moment)
    elif profile != "clean":
        raise ValueError(f"unknown profile {profile!r} (clean, drifted)")
    return state


def _clean(role: TwinRole, now: datetime) -> WindowsState:
    server = role != "workstation"
    commands = [*BASE_COMMANDS, "Get-BitLockerVolume"]
    if server:
        commands.append("Get-WBSummary")
    if role == "domain_controller":
        commands += DC_COMMANDS
    state = WindowsState(
        hostname={"workstation": "WS01", "member_server": "FS01"}.get(role, "DC01"),
        role=role,
        os=_os(role, now),
        firewall_profiles=[FirewallProfile(name) for name in ("Domain", "Private", "Public")],
        defender=Defender(AntivirusSignatureLastUpdated=iso(now - timedelta(hours=3))),
        antivirus_products=[] if server else [AntivirusProduct("Windows Defender", 397568)],
        bitlocker_volumes=_volumes(server),
        disks=_disks(server),
        backup=_backup(now) if server else None,
        audit_policy=_audit_policy(),
        administrators=[
            LocalGroupMember("Administrator"),
            LocalGroupMember("PRACTICE\\Domain Admins", "Group", "ActiveDirectory"),
        ],
        user_accounts=_accounts(role, now),
        services=_services(role),
        rdp=RemoteDesktop(fDenyTSConnections=0 if server else 1, UserAuthentication=1),
        schannel=_schannel(),
        usb_storage=UsbStoragePolicy(Deny_Write=1, NoDriveTypeAutoRun=255),
        certificates=[
            Certificate(
                f"CN={role.replace('_', '-')}.practice.local",
                iso(now + timedelta(days=300)),
                "3F1A0C5E9B7D2A4C6E8F0B1D3A5C7E9F1B3D5A7C",
            )
        ],
        hotfixes=[
            HotFix("KB5050021", iso(now - timedelta(days=12))),
            HotFix("KB5049622", iso(now - timedelta(days=40))),
        ],
        time_service=_time_service(role, now),
        network_adapters=[
            NetworkAdapterConfiguration(
                "Microsoft Hyper-V Network Adapter" if server else "Intel(R) Ethernet I219-LM",
                TcpipNetbiosOptions=2,
            )
        ],
        event_logs=[
            EventLogConfig("Security", 196608 * 1024, OldestEventTime=iso(now - timedelta(120))),
            EventLogConfig("Application", 32768 * 1024, OldestEventTime=iso(now - timedelta(200))),
        ],
        credential_providers=[*INBOX_CREDENTIAL_PROVIDERS, DUO_CREDENTIAL_PROVIDER],
        available_cmdlets=sorted(commands, key=str.lower),
    )
    if role == "domain_controller":
        state.ad_group_members, state.ad_users = _ad_admins(), _ad_users(now)
    _autostart(state, server)
    return state


def _os(role: TwinRole, now: datetime) -> OperatingSystem:
    if role == "workstation":
        system = OperatingSystem("Microsoft Windows 11 Pro", "10.0.26200", "26200")
        system.DisplayVersion = "25H2"
    else:
        system = OperatingSystem("Microsoft Windows Server 2022 Standard", "10.0.20348", "20348")
        system.ProductType = 2 if role == "domain_controller" else 3
        system.EditionID, system.DisplayVersion = "ServerStandard", "21H2"
    system.LastBootUpTime = iso(now - timedelta(days=3))
    return system


def _volumes(server: bool) -> list[BitLockerVolume]:
    volumes = [BitLockerVolume("C:")]
    if server:
        volumes.append(BitLockerVolume("D:", VolumeType="Data"))
    return volumes


def _disks(server: bool) -> list[LogicalDisk]:
    disks = [LogicalDisk("C:", 256 * GIB, 150 * GIB)]
    if server:
        disks.append(LogicalDisk("D:", 1024 * GIB, 600 * GIB))
    return disks


def _backup(now: datetime) -> BackupSummary:
    last = iso(now - timedelta(hours=10))
    return BackupSummary(last, last, NumberOfVersions=30)


def _audit_policy() -> list[AuditSubcategory]:
    settings = {"Directory Service Changes": "Success"}
    return [
        AuditSubcategory(name, guid, settings.get(name, "Success and Failure"))
        for name, guid in AUDIT_GUIDS.items()
    ]


def _accounts(role: TwinRole, now: datetime) -> list[UserAccount]:
    sid = DOMAIN_SID if role == "domain_controller" else LOCAL_SID
    accounts = [
        UserAccount(
            "Administrator",
            f"{sid}-500",
            Disabled=role == "workstation",
            LastLogon=iso(now - timedelta(days=2)),
        ),
        UserAccount("Guest", f"{sid}-501", Disabled=True),
        UserAccount("DefaultAccount", f"{sid}-503", Disabled=True),
    ]
    if role == "domain_controller":
        accounts.append(UserAccount("krbtgt", f"{sid}-502", Disabled=True))
    else:
        accounts.append(UserAccount("WDAGUtilityAccount", f"{sid}-504", Disabled=True))
    return accounts


def _services(role: TwinRole) -> list[Service]:
    services = [
        Service("EventLog"),
        Service("MpsSvc"),
        Service("W32Time", StartType="Manual" if role == "workstation" else "Automatic"),
        Service("WinDefend"),
        Service("LanmanServer"),
        Service("Netlogon"),
        Service("WinRM"),
        Service("Spooler"),
    ]
    if role != "workstation":
        services.append(Service("TermService", StartType="Manual"))
    if role == "domain_controller":
        services[-2:-1] = [Service("Spooler", "Stopped", "Disabled")]
        services += [Service(name) for name in ("NTDS", "Kdc", "DNS", "DFSR", "ADWS")]
    return services


def _schannel() -> list[SchannelProtocol]:
    old = [SchannelProtocol(name, 0, 1) for name in ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")]
    return [*old, SchannelProtocol("TLS 1.2", 1, 0)]


def _time_service(role: TwinRole, now: datetime) -> TimeService:
    synced = iso(now - timedelta(minutes=40))
    if role == "domain_controller":
        return TimeService("0.pool.ntp.org,0x8", synced, Stratum=2)
    return TimeService("DC01.practice.local", synced, Stratum=3)


def _ad_admins() -> list[ADGroupMember]:
    groups = ("Administrators", "Domain Admins", "Enterprise Admins", "Schema Admins")
    return [ADGroupMember(group, "Administrator") for group in groups]


def _ad_users(now: datetime) -> list[ADUser]:
    def ago(days: int) -> str:
        return iso(now - timedelta(days=days))

    return [
        ADUser("Administrator", LastLogonDate=ago(1)),
        ADUser("Guest", Enabled=False),
        ADUser("krbtgt", Enabled=False),
        ADUser("dr.smith", LastLogonDate=ago(2)),
        ADUser("frontdesk", LastLogonDate=ago(5)),
    ]


EDGE_UPDATE = "C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe"
EDGE_SIGNER = "CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US"


def _autostart(state: WindowsState, server: bool) -> None:
    """Microsoft's own autostart entries, which win_persistence leaves out."""
    state.scheduled_tasks = [
        ScheduledTask(
            "\\Microsoft\\Windows\\UpdateOrchestrator\\",
            "Schedule Scan",
            "%systemroot%\\system32\\usoclient.exe",
            "StartScan",
        ),
        ScheduledTask("\\", "MicrosoftEdgeUpdateTaskMachineCore", EDGE_UPDATE, "/c"),
    ]
    powershell = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    state.file_signatures = [
        FileSignature(EDGE_UPDATE, Subject=EDGE_SIGNER),
        FileSignature(powershell, Subject=MICROSOFT_SIGNER),
    ]
    if not server:
        tray = "C:\\Windows\\system32\\SecurityHealthSystray.exe"
        state.run_values = [
            RunValue(
                "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
                "SecurityHealth",
                "%windir%\\system32\\SecurityHealthSystray.exe",
            )
        ]
        state.file_signatures.append(FileSignature(tray, Subject=MICROSOFT_SIGNER))
