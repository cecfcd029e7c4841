"""Parts of a simulated Windows host: the system, its accounts, services, updates and logs.

Field names are the real property names of the cmdlet, WMI class, registry value or
tool output the probes read (``Get-HotFix`` ``InstalledOn``, ``Get-WinEvent -ListLog``
``MaximumSizeInBytes``, ...). A few fields are twin knobs with no Windows property (a
stopped service that makes a cmdlet throw, output in another language): their comments
say so. Times are ISO 8601 UTC strings such as ``"2025-01-31T08:00:00Z"``. Security
settings (firewall, Defender, policies) are in ``controls.py``; ``state.WindowsState``
puts both together.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OperatingSystem:
    """Win32_OperatingSystem, plus EditionID and DisplayVersion from
    HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion."""

    Caption: str
    Version: str
    BuildNumber: str
    ProductType: int = 1  # 1 workstation, 2 domain controller, 3 server
    EditionID: str = "Professional"  # Professional, Enterprise, EnterpriseS, ServerStandard
    DisplayVersion: str | None = None  # 22H2, 24H2, ... (None on old builds)
    LastBootUpTime: str = "2025-01-01T00:00:00Z"


@dataclass
class LogicalDisk:
    """Win32_LogicalDisk (DriveType 3 = fixed). Sizes in bytes."""

    DeviceID: str
    Size: int
    FreeSpace: int
    DriveType: int = 3


@dataclass
class HotFix:
    """Get-HotFix, one update. ``InstalledOn`` None: Get-HotFix shows no date."""

    HotFixID: str
    InstalledOn: str | None


@dataclass
class PendingUpdate:
    """IUpdate from the Windows Update Agent's search for updates not installed."""

    Title: str
    KBArticleIDs: list[str]
    MsrcSeverity: str = ""  # Critical, Important, Moderate, Low or "" (not a security update)
    LastDeploymentChangeTime: str | None = None  # when the update was published


@dataclass
class WindowsUpdate:
    """The Windows Update Agent and the reboot markers in HKLM."""

    pending: list[PendingUpdate] = field(default_factory=list)
    # twin knob: the COM search throws with this message (no route to WSUS, ...)
    search_error: str | None = None
    RebootRequired: bool = False  # ...\WindowsUpdate\Auto Update\RebootRequired exists
    RebootPending: bool = False  # ...\Component Based Servicing\RebootPending exists
    PendingFileRenameOperations: list[str] = field(default_factory=list)


@dataclass
class UserAccount:
    """Win32_UserAccount; ``LastLogon`` is Get-LocalUser's (None: never logged on)."""

    Name: str
    SID: str
    Disabled: bool = False
    LocalAccount: bool = True
    LastLogon: str | None = None


@dataclass
class LocalGroupMember:
    """Get-LocalGroupMember Administrators, one member (Name as DOMAIN\\name)."""

    Name: str
    ObjectClass: str = "User"  # User, Group
    PrincipalSource: str = "Local"  # Local, ActiveDirectory


@dataclass
class ADGroupMember:
    """Get-ADGroupMember -Recursive of one privileged group (domain controllers)."""

    group: str  # Administrators, Domain Admins, Enterprise Admins, Schema Admins
    SamAccountName: str
    objectClass: str = "user"


@dataclass
class ADUser:
    """An Active Directory user as Search-ADAccount returns it (domain controllers)."""

    SamAccountName: str
    Enabled: bool = True
    LastLogonDate: str | None = None  # lastLogonTimestamp; None: never logged on


@dataclass
class Service:
    """Get-Service, one service."""

    Name: str
    Status: str = "Running"  # Running, Stopped, ...
    StartType: str = "Automatic"  # Automatic, Manual, Disabled


@dataclass
class TimeService:
    """``w32tm /query /status /verbose``: Source, Last Successful Sync Time, Phase Offset."""

    Source: str
    LastSuccessfulSyncTime: str | None
    Stratum: int = 3
    PhaseOffset: float = 0.0004  # seconds between the local clock and the source
    service_running: bool = True  # twin knob: w32tm fails with 0x80070426 when False
    localized: bool = False  # twin knob: w32tm prints its labels in another language


@dataclass
class EventLogConfig:
    """Get-WinEvent -ListLog NAME, and the time of the log's oldest event."""

    LogName: str
    MaximumSizeInBytes: int
    LogMode: str = "Circular"  # Circular, AutoBackup, Retain
    OldestEventTime: str | None = None  # None: the log holds no event


@dataclass
class BackupSummary:
    """Get-WBSummary (Windows Server Backup)."""

    LastSuccessfulBackupTime: str | None
    LastBackupTime: str | None
    LastBackupResultHR: int = 0
    LastBackupResultDetailedHR: int = 0
    NumberOfVersions: int = 0


@dataclass
class Certificate:
    """Cert:\\LocalMachine\\My, one certificate."""

    Subject: str
    NotAfter: str
    Thumbprint: str = ""


@dataclass
class AuditSubcategory:
    """One row of ``auditpol /get /subcategory:... /r``."""

    Subcategory: str
    Guid: str  # "Subcategory GUID", braces included
    InclusionSetting: str = "Success and Failure"  # Success, Failure, No Auditing


@dataclass
class RunValue:
    """A value under an HKLM Run or RunOnce key (``Key`` as the probe names it)."""

    Key: str  # e.g. HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run
    Name: str
    Command: str


@dataclass
class ScheduledTask:
    """Get-ScheduledTask, one task with one exec action."""

    TaskPath: str  # \\ or \\Microsoft\\Windows\\..., with the trailing backslash
    TaskName: str
    Execute: str
    Arguments: str = ""


@dataclass
class FileSignature:
    """Get-AuthenticodeSignature of one file (a file not listed does not exist)."""

    Path: str
    Status: str = "Valid"  # Valid, NotSigned, HashMismatch, ...
    Subject: str = ""  # SignerCertificate.Subject


MICROSOFT_SIGNER = "CN=Microsoft Windows, O=Microsoft Corporation, L=Redmond, S=Washington, C=US"
