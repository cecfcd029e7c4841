"""Simulated runbooks for local and domain policy: the screen lock, the audit policy, the
password and lockout policies and the event log sizes.

Each function mirrors ``playbooks/windows/<id>.ps1`` and prints the same lines (see
``runbook_base``). Values already stricter than the site's thresholds (the script's
``$osiris_...`` variables) are kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .components import AuditSubcategory
from .presets import AUDIT_GUIDS
from .runbook_base import RunbookFailure, before, ps_int, simulates
from .state import WindowsState

AUDITED = ("Credential Validation", "Logon", "User Account Management", "Removable Storage")


@simulates("windows_screen_lock_set", variables=("osiris_max_seconds",))
def _screen_lock_set(state: WindowsState, now: datetime, max_seconds: Any) -> list[str]:
    limit = ps_int(max_seconds)
    current = state.InactivityTimeoutSecs
    if current is not None and 0 < current <= limit:
        return [f"unchanged: InactivityTimeoutSecs is already {current}"]
    state.InactivityTimeoutSecs = limit
    return [f"changed: InactivityTimeoutSecs {before(current)} -> {limit}"]


@simulates("windows_audit_policy_set")
def _audit_policy_set(state: WindowsState, now: datetime) -> list[str]:
    rows = {row.Subcategory: row for row in state.audit_policy}
    wanted = dict.fromkeys(AUDITED, "Success and Failure")
    if state.domain_role >= 4:
        wanted["Directory Service Changes"] = "Success"
    lines = []
    for name, setting in wanted.items():
        row = rows.get(name)
        if row is None:  # auditpol printed no row: the script takes it as "No Auditing"
            row = AuditSubcategory(name, AUDIT_GUIDS[name], "No Auditing")
            state.audit_policy.append(row)
        if row.InclusionSetting in (setting, "Success and Failure"):
            continue
        lines.append(f"changed: {name} {row.InclusionSetting} -> {setting}")
        row.InclusionSetting = setting
    return lines or ["unchanged: every subcategory is already audited"]


def _system_access(state: WindowsState) -> dict[str, int]:
    """``Get-OsirisSystemAccess``: secedit /export's [System Access]."""
    policy = state.security_policy
    if policy.export_denied:
        raise RunbookFailure(
            "secedit /export failed with exit code 1", near='throw "secedit /export failed'
        )
    return policy.system_access()


def _apply(state: WindowsState, current: dict[str, int], wanted: dict[str, int]) -> list[str]:
    """``Set-OsirisSystemAccess`` after printing each value that differs."""
    lines = [
        f"changed: {name} {before(current.get(name))} -> {value}"
        for name, value in wanted.items()
        if current.get(name) != value
    ]
    for name, value in wanted.items():
        setattr(state.security_policy, name, value)
    return lines


@simulates("windows_password_policy_set", variables=("osiris_min_length", "osiris_min_history"))
def _password_policy_set(
    state: WindowsState, now: datetime, min_length: Any, min_history: Any
) -> list[str]:
    current = _system_access(state)
    wanted = {
        "MinimumPasswordLength": max(current.get("MinimumPasswordLength", 0), ps_int(min_length)),
        "PasswordComplexity": 1,
        "PasswordHistorySize": max(current.get("PasswordHistorySize", 0), ps_int(min_history)),
        "ClearTextPassword": 0,
    }
    lines = _apply(state, current, wanted)
    return lines or ["unchanged: the password policy already meets the defaults"]


@simulates(
    "windows_lockout_policy_set",
    variables=("osiris_max_bad_count", "osiris_min_duration_minutes"),
)
def _lockout_policy_set(
    state: WindowsState, now: datetime, max_bad_count: Any, min_duration_minutes: Any
) -> list[str]:
    current = _system_access(state)
    bad_count, threshold = current.get("LockoutBadCount", 0), ps_int(max_bad_count)
    reset = max(current.get("ResetLockoutCount", 0), ps_int(min_duration_minutes))
    duration = current.get("LockoutDuration")
    if duration is None:
        duration = reset
    elif duration > 0:  # 0 and -1: locked until an administrator unlocks
        duration = max(duration, reset)
    wanted = {
        "LockoutBadCount": bad_count if 0 < bad_count <= threshold else threshold,
        "LockoutDuration": duration,
        "ResetLockoutCount": reset,
    }
    lines = _apply(state, current, wanted)
    return lines or ["unchanged: the lockout policy already meets the defaults"]


@simulates(
    "windows_event_log_size_set",
    variables=("osiris_security_min_kb", "osiris_application_min_kb"),
)
def _event_log_size_set(
    state: WindowsState, now: datetime, security_min_kb: Any, application_min_kb: Any
) -> list[str]:
    lines: list[str] = []
    changed = 0
    sizes = {"Security": ps_int(security_min_kb), "Application": ps_int(application_min_kb)}
    for name, kb in sizes.items():
        size = kb * 1024
        log = state.event_log(name)
        if log is None:
            raise RunbookFailure(
                f'There is not an event log on the localhost computer that matches "{name}".',
                near="Get-WinEvent -ListLog $name",
                command="Get-WinEvent",
                printed=lines,
            )
        save = False
        if log.MaximumSizeInBytes < size:
            lines.append(
                f"changed: {name} log MaximumSizeInBytes {log.MaximumSizeInBytes} -> {size}"
            )
            log.MaximumSizeInBytes, save = size, True
        if name == "Security" and log.LogMode == "Retain":
            lines.append("changed: Security log LogMode Retain -> Circular")
            log.LogMode, save = "Circular", True
        changed += save
    if changed == 0:
        return ["unchanged: the Security and Application logs are already large enough"]
    return lines
