"""Security settings of a simulated Windows host: firewall, Defender, encryption, policies.

Field names are the real property or registry value names the probes read; ``None``
means the value is not set (the OS default applies). Twin knobs with no Windows
property say so in their comment. ``components.py`` holds the rest of the host.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class FirewallProfile:
    """Get-NetFirewallProfile -PolicyStore ActiveStore, one profile."""

    Name: str  # Domain, Private, Public
    Enabled: bool = True
    DefaultInboundAction: str = "Block"  # Block, Allow, NotConfigured
    DefaultOutboundAction: str = "Allow"


@dataclass
class Defender:
    """Get-MpComputerStatus and Get-MpPreference. ``service_running`` False makes both throw."""

    AntivirusSignatureLastUpdated: str | None
    AMServiceEnabled: bool = True
    AntivirusEnabled: bool = True
    RealTimeProtectionEnabled: bool = True
    AMRunningMode: str = "Normal"
    AntivirusSignatureVersion: str = "1.421.1543.0"
    service_running: bool = True  # twin knob
    ExclusionPath: list[str] = field(default_factory=list)
    ExclusionProcess: list[str] = field(default_factory=list)
    ExclusionExtension: list[str] = field(default_factory=list)
    MAPSReporting: int = 2  # 0 off, 1 basic, 2 advanced
    SubmitSamplesConsent: int = 1  # 0 prompt, 1 safe samples, 2 never, 3 all
    PUAProtection: int = 1  # 0 off, 1 block, 2 audit
    # Group Policy values under HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender
    # (Real-Time Protection\DisableRealtimeMonitoring, Spynet\SpynetReporting,
    # Spynet\SubmitSamplesConsent, PUAProtection); None: not configured. A policy value
    # wins over the preference above (what Set-MpPreference writes): Get-MpPreference and
    # Get-MpComputerStatus report the one in force (``effective``).
    policy_DisableRealtimeMonitoring: int | None = None
    policy_SpynetReporting: int | None = None
    policy_SubmitSamplesConsent: int | None = None
    policy_PUAProtection: int | None = None

    def effective(self, name: str) -> int | bool:
        """``name`` (RealTimeProtectionEnabled, MAPSReporting, SubmitSamplesConsent or
        PUAProtection) as Defender applies it: a policy value where one is set."""
        if name == "RealTimeProtectionEnabled":
            disabled = self.policy_DisableRealtimeMonitoring
            return self.RealTimeProtectionEnabled if disabled is None else disabled == 0
        policy = getattr(self, "policy_" + POLICY_VALUE_NAMES.get(name, name))
        return int(getattr(self, name)) if policy is None else int(policy)


# Get-MpPreference names -> their Group Policy value names, where they differ
POLICY_VALUE_NAMES = {"MAPSReporting": "SpynetReporting"}


@dataclass
class AntivirusProduct:
    """root/SecurityCenter2 AntiVirusProduct (client Windows only)."""

    displayName: str
    productState: int  # bit 0x1000 set = on (e.g. 397568 on, 393472 off)


@dataclass
class BitLockerVolume:
    """Get-BitLockerVolume, one volume."""

    MountPoint: str
    VolumeType: str = "OperatingSystem"  # OperatingSystem, Data
    ProtectionStatus: str = "On"  # On, Off, Unknown
    VolumeStatus: str = "FullyEncrypted"
    EncryptionPercentage: float = 100.0


@dataclass
class SecurityPolicy:
    """``secedit /export`` [System Access]. Lockout times are in minutes."""

    MinimumPasswordAge: int = 1
    MaximumPasswordAge: int = 90
    MinimumPasswordLength: int = 14
    PasswordComplexity: int = 1
    PasswordHistorySize: int = 24
    ClearTextPassword: int = 0
    LockoutBadCount: int = 5
    # secedit leaves these two out when LockoutBadCount is 0
    LockoutDuration: int | None = 15
    ResetLockoutCount: int | None = 15
    export_denied: bool = False  # twin knob: secedit /export fails (not elevated)

    def system_access(self) -> dict[str, int]:
        """The [System Access] keys secedit would print, in its order."""
        keys = dataclasses.asdict(self)
        keys.pop("export_denied")
        if self.LockoutBadCount == 0:
            keys.pop("LockoutDuration")
            keys.pop("ResetLockoutCount")
        return {name: value for name, value in keys.items() if value is not None}


@dataclass
class SmbSettings:
    """Get-SmbServerConfiguration, plus the SMB1 client driver's Start (None = removed)."""

    EnableSMB1Protocol: bool = False
    EnableSMB2Protocol: bool = True
    RequireSecuritySignature: bool = True
    EnableSecuritySignature: bool = True
    mrxsmb10_start: int | None = None


@dataclass
class SmbClientConfiguration:
    """Get-SmbClientConfiguration."""

    RequireSecuritySignature: bool = True
    EnableSecuritySignature: bool = True


@dataclass
class RemoteDesktop:
    """Terminal Server registry values: local ones and Group Policy ones (None = unset)."""

    fDenyTSConnections: int | None = 1
    UserAuthentication: int = 1
    policy_fDenyTSConnections: int | None = None
    policy_UserAuthentication: int | None = None


@dataclass
class SchannelProtocol:
    """SCHANNEL\\Protocols\\<Protocol>\\Server values (None = not set: the OS default)."""

    Protocol: str  # SSL 2.0, SSL 3.0, TLS 1.0, TLS 1.1, TLS 1.2
    Enabled: int | None = None
    DisabledByDefault: int | None = None


@dataclass
class UsbStoragePolicy:
    """Removable storage policy, autoplay policy and the USBSTOR driver's Start.

    ``Deny_All``: ...\\RemovableStorageDevices; ``Deny_Write``: its Removable Disks class
    key {53f5630d-b6bf-11d0-94f2-00a0c91efb8b}; ``RDVDenyWriteAccess``: BitLocker To Go
    (HKLM\\SYSTEM\\CurrentControlSet\\Policies\\Microsoft\\FVE); ``NoDriveTypeAutoRun``:
    HKLM ...\\Policies\\Explorer.
    """

    Deny_All: int | None = None
    Deny_Write: int | None = None
    NoDriveTypeAutoRun: int | None = None
    USBSTOR_Start: int = 3
    RDVDenyWriteAccess: int | None = None


@dataclass
class CredentialProvider:
    """A key under ...\\Authentication\\Credential Providers: its GUID and (Default) name."""

    Guid: str
    Name: str


@dataclass
class NetworkAdapterConfiguration:
    """Win32_NetworkAdapterConfiguration, one adapter."""

    Description: str
    IPEnabled: bool = True
    TcpipNetbiosOptions: int | None = 0  # 0 from DHCP, 1 enabled, 2 disabled


INBOX_CREDENTIAL_PROVIDERS = (
    CredentialProvider("{60b78e88-ead8-445c-9cfd-0b87f74ea6cd}", "PasswordProvider"),
    CredentialProvider("{8FD7E19C-3BF7-489B-A72C-846AB3678C96}", "Smartcard Credential Provider"),
    CredentialProvider("{D6886603-9D2F-4EB2-B667-1971041FA96B}", "NGC Credential Provider"),
)
DUO_CREDENTIAL_PROVIDER = CredentialProvider(
    "{44E2ED41-48C7-4712-A3C3-250C5E6D5D84}", "Duo Security Credential Provider"
)
