"""Simulated runbooks for local and domain policy: the screen lock, the audit policy, the
password and lockout policies and the event log sizes.

Each function mirrors ``playbooks/windows/<id>.ps1`` and prints the same lines (see
``runbook_base``). Values already stricter than the catalog's defaults are kept.
"""

from __future__ import annotations

from datetime import datetime

from .components import AuditSubcategory
from .presets import AUDIT_GUIDS
from .runbook_base import RunbookFailure, before, simulates
from .state import WindowsState

SCREEN_LOCK_SECONDS = 900
AUDITED = ("Credential Validation", "Logon", "User Account Management", "Removable Storage")
LOCKOUT_THRESHOLD = 5
LOCKOUT_MINUTES = 15
LOG_SIZES = {"Security": 196608 * 1024, "Application": 32768 * 1024}


@simulates("windows_screen_lock_set")
def _screen_lock_set(state: WindowsState, now: datetime) -> list[str]:
    current = state.InactivityTimeoutSecs
    if current is not None and 0 < current <= SCREEN_LOCK_SECONDS:
        return [f"unchanged: InactivityTimeoutSecs is already {current}"]
    state.InactivityTimeoutSecs = SCREEN_LOCK_SECONDS
    return [f"changed: InactivityTimeoutSecs {before(current)} -> {SCREEN_LOCK_SECONDS}"]


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


@simulates("windows_password_policy_set")
def _password_policy_set(state: WindowsState, now: datetime) -> list[str]:
    current = _system_access(state)
    wanted = {
        "MinimumPasswordLength": max(current.get("MinimumPasswordLength", 0), 14),
        "PasswordComplexity": 1,
        "PasswordHistorySize": max(current.get("PasswordHistorySize", 0), 24),
        "ClearTextPassword": 0,
    }
    lines = _apply(state, current, wanted)
    return lines or ["unchanged: the password policy already meets the defaults"]


@simulates("windows_lockout_policy_set")
def _lockout_policy_set(state: WindowsState, now: datetime) -> list[str]:
    current = _system_access(state)
    bad_count = current.get("LockoutBadCount", 0)
    reset = max(current.get("ResetLockoutCount", 0), LOCKOUT_MINUTES)
    duration = current.get("LockoutDuration")
    if duration is None:
        duration = reset
    elif duration > 0:  # 0 and -1: locked until an administrator unlocks
        duration = max(duration, reset)
    wanted = {
        "LockoutBadCount": bad_count if 0 < bad_count <= LOCKOUT_THRESHOLD else LOCKOUT_THRESHOLD,
        "LockoutDuration": duration,
        "ResetLockoutCount": reset,
    }
    lines = _apply(state, current, wanted)
    return lines or ["unchanged: the lockout policy already meets the defaults"]


@simulates("windows_event_log_size_set")
def _event_log_size_set(state: WindowsState, now: datetime) -> list[str]:
    lines: list[str] = []
    changed = 0
    for name, size in LOG_SIZES.items():
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
