"""The simulated state of one Windows host, held by the WinRM twin.

Windows cannot run in this lab, so the twin answers Osiris's probes from this state
instead of from a real machine. The state is plain dataclasses that round-trip to one
JSON file: the twin (possibly in another process) reads it for every script, runbooks
change it, and tests set it up and inspect it. Every access takes an ``fcntl`` lock on a
side file (``<state>.lock``) and writes replace the file atomically, so a reader never
sees half a state. Use ``WindowsState.update(path)`` for read-modify-write.

Field names are the real property names wherever a cmdlet, WMI class, registry value or
secedit key exists (``Get-NetFirewallProfile`` ``Enabled``, ``Get-MpComputerStatus``
``AntivirusSignatureLastUpdated``, secedit ``MinimumPasswordLength``, ...), so
``answers.py`` can mirror each PowerShell probe line by line. Times are ISO 8601 strings
in UTC, e.g. ``"2025-01-31T08:00:00Z"``. The parts are dataclasses in ``components.py``
(system, accounts, services, updates, logs) and ``controls.py`` (security settings);
presets live in ``presets.py`` and named drifts in ``drifts.py``.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import tempfile
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from osiris.model import Role

from .access import GuardSave, WinrmAccess
from .components import (
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
    WindowsUpdate,
)
from .controls import (
    AntivirusProduct,
    BitLockerVolume,
    CredentialProvider,
    Defender,
    FirewallProfile,
    NetworkAdapterConfiguration,
    RemoteDesktop,
    SchannelProtocol,
    SecurityPolicy,
    SmbClientConfiguration,
    SmbSettings,
    UsbStoragePolicy,
)

TwinRole = Literal["workstation", "member_server", "domain_controller"]
TWIN_ROLES: tuple[TwinRole, ...] = ("workstation", "member_server", "domain_controller")

# The twin's Windows roles and the inventory roles Osiris knows them by.
OSIRIS_ROLES: dict[TwinRole, Role] = {
    "workstation": Role.WORKSTATION,
    "member_server": Role.SERVER,
    "domain_controller": Role.DOMAIN_CONTROLLER,
}
# Win32_ComputerSystem.DomainRole: 1 member workstation, 3 member server, 5 primary DC.
DOMAIN_ROLES: dict[TwinRole, int] = {"workstation": 1, "member_server": 3, "domain_controller": 5}


def iso(moment: datetime) -> str:
    """``moment`` as the ISO 8601 UTC text the state stores."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """The inverse of ``iso``."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class WindowsState:
    """Everything the twin knows about its Windows host. Build one with ``preset``."""

    hostname: str
    role: TwinRole
    os: OperatingSystem
    firewall_profiles: list[FirewallProfile]
    defender: Defender
    bitlocker_volumes: list[BitLockerVolume]
    disks: list[LogicalDisk]
    user_accounts: list[UserAccount]
    services: list[Service]
    audit_policy: list[AuditSubcategory]
    available_cmdlets: list[str]
    antivirus_products: list[AntivirusProduct] = field(default_factory=list)
    backup: BackupSummary | None = None
    security_policy: SecurityPolicy = field(default_factory=SecurityPolicy)
    administrators: list[LocalGroupMember] = field(default_factory=list)
    smb: SmbSettings = field(default_factory=SmbSettings)
    rdp: RemoteDesktop = field(default_factory=RemoteDesktop)
    InactivityTimeoutSecs: int | None = 900
    schannel: list[SchannelProtocol] = field(default_factory=list)
    LmCompatibilityLevel: int | None = 5
    usb_storage: UsbStoragePolicy = field(default_factory=UsbStoragePolicy)
    certificates: list[Certificate] = field(default_factory=list)
    hotfixes: list[HotFix] = field(default_factory=list)
    time_service: TimeService | None = None
    windows_update: WindowsUpdate = field(default_factory=WindowsUpdate)
    smb_client: SmbClientConfiguration = field(default_factory=SmbClientConfiguration)
    # HKLM\SOFTWARE\Policies\Microsoft\Windows NT\DNSClient EnableMulticast (LLMNR)
    EnableMulticast: int | None = 0
    # HKLM\SYSTEM\CurrentControlSet\Services\NetBT\Parameters NodeType (2 = P-node)
    NodeType: int | None = None
    network_adapters: list[NetworkAdapterConfiguration] = field(default_factory=list)
    event_logs: list[EventLogConfig] = field(default_factory=list)
    # ...\Policies\Microsoft\Windows\EventLog\EventForwarding\SubscriptionManager "1"
    SubscriptionManager: str | None = None
    ad_group_members: list[ADGroupMember] = field(default_factory=list)
    ad_users: list[ADUser] = field(default_factory=list)
    credential_providers: list[CredentialProvider] = field(default_factory=list)
    # HKLM\SOFTWARE\Policies\Microsoft\PassportForWork Enabled (Windows Hello for Business)
    PassportForWork_Enabled: int | None = None
    # HKLM ...\CurrentVersion\Policies\System scforceoption (smart card required)
    scforceoption: int | None = None
    run_values: list[RunValue] = field(default_factory=list)
    scheduled_tasks: list[ScheduledTask] = field(default_factory=list)
    file_signatures: list[FileSignature] = field(default_factory=list)
    winrm: WinrmAccess = field(default_factory=WinrmAccess)
    osiris_guards: list[GuardSave] = field(default_factory=list)  # see access.py, guard.py

    def __post_init__(self) -> None:
        if self.role not in TWIN_ROLES:
            raise ValueError(f"role must be one of {', '.join(TWIN_ROLES)}, not {self.role!r}")

    # -- what probes ask ------------------------------------------------------------

    @property
    def osiris_role(self) -> Role:
        """The inventory role Osiris uses for this host."""
        return OSIRIS_ROLES[self.role]

    @property
    def domain_role(self) -> int:
        """Win32_ComputerSystem.DomainRole."""
        return DOMAIN_ROLES[self.role]

    def has_command(self, name: str) -> bool:
        """Whether ``Get-Command -Name name`` finds it (case-insensitive, like Windows)."""
        wanted = name.lower()
        return any(command.lower() == wanted for command in self.available_cmdlets)

    def firewall_profile(self, name: str) -> FirewallProfile | None:
        return next((p for p in self.firewall_profiles if p.Name == name), None)

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.Name.lower() == name.lower()), None)

    def accounts_with_rid(self, rid: int) -> list[UserAccount]:
        return [a for a in self.user_accounts if a.LocalAccount and a.SID.endswith(f"-{rid}")]

    def guard(self, name: str) -> GuardSave | None:
        return next((g for g in self.osiris_guards if g.Name == name), None)

    def event_log(self, name: str) -> EventLogConfig | None:
        return next((log for log in self.event_logs if log.LogName == name), None)

    def signature(self, path: str) -> FileSignature | None:
        """Get-AuthenticodeSignature of ``path`` (None: no such file)."""
        wanted = path.lower()
        return next((s for s in self.file_signatures if s.Path.lower() == wanted), None)

    # -- presets ----------------------------------------------------------------------

    @classmethod
    def preset(
        cls, role: TwinRole | Role | str, profile: str = "clean", *, now: datetime | None = None
    ) -> WindowsState:
        """A host of ``role`` in ``profile`` ("clean" or "drifted"); see presets.py.

        ``role`` is a twin role or an Osiris ``Role``; times are relative to ``now``.
        """
        from .presets import build_preset  # presets builds on this module

        return build_preset(role, profile, now=now)

    # -- the JSON file ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowsState:
        """Rebuild from ``to_dict`` output; an unknown key is a ValueError (a typo)."""
        state: WindowsState = _from_dict(cls, data)
        return state

    def save(self, path: Path) -> None:
        """Write atomically under an exclusive lock."""
        with _locked(path, exclusive=True):
            _write(path, self)

    @classmethod
    def load(cls, path: Path) -> WindowsState:
        """Read under a shared lock."""
        with _locked(path, exclusive=False):
            return _read(path)

    @classmethod
    @contextmanager
    def update(cls, path: Path) -> Iterator[WindowsState]:
        """Load, let the caller change the state, save; all under one exclusive lock."""
        with _locked(path, exclusive=True):
            state = _read(path)
            yield state
            _write(path, state)


def now_utc() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _locked(path: Path, *, exclusive: bool) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read(path: Path) -> WindowsState:
    return WindowsState.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _write(path: Path, state: WindowsState) -> None:
    text = json.dumps(state.to_dict(), indent=2, sort_keys=False) + "\n"
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _from_dict(cls: type[Any], data: Any) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__} needs an object, got {type(data).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
    return cls(**{name: _build(hints[name], value) for name, value in data.items()})


def _build(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _from_dict(hint, value)
    if origin is list:
        (item,) = get_args(hint)
        return [_build(item, v) for v in value]
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(hint) if a is not type(None)]
        return _build(inner[0], value) if len(inner) == 1 else value
    if hint is float and isinstance(value, int):
        return float(value)
    return value
