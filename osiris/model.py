"""The closed vocabularies and the records that cross layer boundaries.

Every status, platform, role and severity in Osiris comes from here (docs/architecture.md,
contract 1): counting, reports and rules use these enums and nothing else.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """The one status vocabulary. Missing data is ``ERROR``, never ``PASS``."""

    PASS = "pass"  # noqa: S105 (a status, not a password)
    WARNING = "warning"
    FAIL = "fail"
    ERROR = "error"  # the probe could not decide
    NA = "na"  # the check does not apply to this host

    @property
    def is_drift(self) -> bool:
        """Warning and fail are drift that heal may act on; error is not."""
        return self in (Status.WARNING, Status.FAIL)


class IncidentState(StrEnum):
    """open -> remediating -> resolved | failed | escalated | excepted."""

    OPEN = "open"
    REMEDIATING = "remediating"
    RESOLVED = "resolved"
    FAILED = "failed"
    ESCALATED = "escalated"
    EXCEPTED = "excepted"


class ActionState(StrEnum):
    JOURNALED = "journaled"  # written before anything ran
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # the re-run check passes
    FAILED = "failed"  # it ran and the check still does not pass, or it could not run
    ROLLED_BACK = "rolled_back"  # the lockout guard put the host back
    RECONCILED = "reconciled"  # found unfinished after a crash, settled by re-checking


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    USED = "used"


class Tier(StrEnum):
    """Who chose a runbook: an L1 rule or the L2 planner (L3 is a person, not a choice)."""

    L1 = "l1"
    L2 = "l2"


class L2Verdict(StrEnum):
    """What the L2 guardrails made of one answer (every one but CHOSEN goes to L3)."""

    CHOSEN = "chosen"  # an applicable runbook, confident enough
    ESCALATE = "escalate"  # the model itself said a person should look
    OUT_OF_ENUM = "out_of_enum"  # it named something it was not offered
    LOW_CONFIDENCE = "low_confidence"
    UNREADABLE = "unreadable"  # no tool call and no JSON object with the fields
    ERROR = "error"  # no answer: HTTP error, timeout, connection


class EscalationCategory(StrEnum):
    """Why a person must look (L3). Dedup is per (host, check, category): one category
    never swallows another."""

    CHECK_ERROR = "check_error"  # the check could not decide
    FLAPPING = "flapping"  # fixed and back again too often
    NO_RULE = "no_rule"  # no L1 rule covers the drift
    RETRIES_EXHAUSTED = "retries_exhausted"  # the rule's attempts are used up
    L2_DECLINED = "l2_declined"  # the L2 planner gave no safe, confident, affordable answer
    LOCKOUT = "lockout"  # the host stayed unreachable after a change
    RUNBOOK_FAILED = "runbook_failed"  # a change the lockout guard had to roll back


class EscalationState(StrEnum):
    """open -> acknowledged -> resolved (a person acknowledges and resolves)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Priority(StrEnum):
    """Urgency of an escalation, P1 most urgent (mapping: osiris.heal.escalation.model)."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Platform(StrEnum):
    LINUX = "linux"
    WINDOWS = "windows"


class Role(StrEnum):
    WORKSTATION = "workstation"
    SERVER = "server"
    DOMAIN_CONTROLLER = "domain_controller"
    APPLIANCE = "appliance"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Connection(StrEnum):
    LOCAL = "local"
    SSH = "ssh"
    WINRM = "winrm"


class Secret:
    """A value that must never be printed, logged or stored.

    ``repr`` and ``str`` hide it; only ``reveal()`` hands it to a transport.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Host:
    """One inventory host, with everything a transport needs to reach it."""

    name: str
    address: str
    connection: Connection
    platform: Platform
    role: Role
    port: int | None = None
    user: str | None = None
    password: Secret | None = field(default=None, compare=False)
    key_file: str | None = None
    winrm_transport: str = "ntlm"
    winrm_scheme: str = "https"
    winrm_cert_validation: bool = True
    winrm_ca_file: str | None = None
    winrm_cert_pem: str | None = None  # certificate auth: paths only, never the key itself
    winrm_cert_key_pem: str | None = None
    become: bool = False  # run probes through `sudo -n` (ansible_become)
    known_hosts: tuple[str, ...] = ()  # extra known_hosts files from the inventory
    groups: tuple[str, ...] = ()

    def describe(self) -> str:
        """A one-line, secret-free description for output."""
        where = self.address if self.port is None else f"{self.address}:{self.port}"
        return f"{self.name} ({self.connection}, {where}, {self.platform}/{self.role})"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one host in one run."""

    host: str
    check_id: str
    status: Status
    reason: str
    facts: dict[str, Any] | None = None
    duration_ms: float = 0.0
    probe_digest: str | None = None


@dataclass(frozen=True)
class HostOutcome:
    """All results for one host, plus how the host was reached (or why not)."""

    host: Host
    results: tuple[CheckResult, ...]
    error: str | None = None
    duration_ms: float = 0.0
    # what the host printed, PHI-scrubbed: the evidence's raw artifact (None: not reached)
    raw_output: bytes | None = field(default=None, repr=False)

    @property
    def raw_output_digest(self) -> str | None:
        return None if self.raw_output is None else hashlib.sha256(self.raw_output).hexdigest()
