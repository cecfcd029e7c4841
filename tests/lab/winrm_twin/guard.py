"""osiris's lockout guard on the WinRM twin, and who the twin lets in.

Mirrors osiris/heal/guard_windows.ps1 (no PowerShell runs here):

- ``arm``: ``Register-OsirisGuard -Name N -Seconds S -Save @(...)`` saves the parts
  named (firewall, winrm, accounts) and schedules the task ``\\Osiris\\N`` at now + S;
  it prints the line the function prints.
- ``fire_due``: Windows runs the task when its time comes; the twin, which has no
  clock of its own, runs every task whose time has come whenever it is next asked
  anything (a connection or a script). The revert puts back what was saved, in the
  script's order, and leaves the ``Reverted`` mark.
- ``disarm``: ``Unregister-OsirisGuard -Name N`` deletes the task and the saved state
  and prints ``reverted`` if the revert ran, else ``disarmed``.
- ``admits``: whether a new WinRM connection over ``scheme`` gets in (see access.py).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta

from .access import GuardSave
from .components import ScheduledTask, Service
from .state import WindowsState, iso, parse_iso

TASK_PATH = "\\Osiris\\"
GUARD_SAVES = ("firewall", "winrm", "accounts")
_ARM = re.compile(
    r"^Register-OsirisGuard -Name '(?P<name>[^']+)' -Seconds (?P<seconds>\d+)"
    r" -Save @\((?P<saves>[^)]*)\)\s*$",
    re.MULTILINE,
)
_DISARM = re.compile(r"^Unregister-OsirisGuard -Name '(?P<name>[^']+)'\s*$", re.MULTILINE)


def arm_request(script: str) -> tuple[str, int, list[str]] | None:
    """``(name, seconds, saves)`` of the script's Register-OsirisGuard call, if any."""
    found = _ARM.search(script)
    if found is None:
        return None
    saves = re.findall(r"'([^']*)'", found.group("saves"))
    return found.group("name"), int(found.group("seconds")), saves


def disarm_request(script: str) -> str | None:
    """The guard name of the script's Unregister-OsirisGuard call, if any."""
    found = _DISARM.search(script)
    return found.group("name") if found else None


def arm(state: WindowsState, name: str, seconds: int, saves: list[str], now: datetime) -> str:
    unknown = sorted(set(saves) - set(GUARD_SAVES))
    if unknown:
        raise ValueError(f"Register-OsirisGuard cannot save {unknown}")
    guard = GuardSave(name, iso(now + timedelta(seconds=seconds)), list(saves))
    services = []
    if "firewall" in saves:
        guard.profiles = copy.deepcopy(state.firewall_profiles)
        services.append("MpsSvc")
    if "winrm" in saves:
        services.append("WinRM")
        guard.listeners = copy.deepcopy(state.winrm.listeners)
    guard.services = [copy.deepcopy(s) for s in map(state.service, services) if s is not None]
    if "firewall" in saves or "winrm" in saves:
        guard.rules_enabled = state.winrm.rules_enabled
    if "accounts" in saves:
        guard.local_users = [
            a.SID for a in state.user_accounts if a.LocalAccount and not a.Disabled
        ]
        if state.domain_role >= 4:
            guard.domain_users = [u.SamAccountName for u in state.ad_users if u.Enabled]
    state.osiris_guards = [g for g in state.osiris_guards if g.Name != name] + [guard]
    state.scheduled_tasks = [t for t in state.scheduled_tasks if not _is_task(t, name)]
    state.scheduled_tasks.append(
        ScheduledTask(
            TASK_PATH,
            name,
            "powershell.exe",
            "-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ...",
        )
    )
    restores = ", ".join(saves)
    return f"guard: {name} armed; it restores {restores} in {seconds} s unless osiris disarms it"


def fire_due(state: WindowsState, now: datetime) -> bool:
    """Run the revert of every guard whose time has come; True if one ran."""
    fired = False
    for guard in state.osiris_guards:
        if not guard.Reverted and parse_iso(guard.NextRunTime) <= now:
            _revert(state, guard)
            fired = True
    return fired


def disarm(state: WindowsState, name: str) -> str:
    guard = state.guard(name)
    state.scheduled_tasks = [t for t in state.scheduled_tasks if not _is_task(t, name)]
    state.osiris_guards = [g for g in state.osiris_guards if g.Name != name]
    return "reverted" if guard is not None and guard.Reverted else "disarmed"


def admits(state: WindowsState, scheme: str) -> bool:
    """Whether a new WinRM connection over ``scheme`` (http, https) gets through."""
    service = state.service("WinRM")
    if service is not None and service.Status != "Running":
        return False
    access = state.winrm
    if not any(listener.Transport.lower() == scheme.lower() for listener in access.listeners):
        return False
    firewall = state.service("MpsSvc")
    profile = state.firewall_profile(access.network_profile)
    blocking = (
        (firewall is None or firewall.Status == "Running")
        and profile is not None
        and profile.Enabled
        and profile.DefaultInboundAction != "Allow"
    )
    return access.rules_enabled or not blocking


def _revert(state: WindowsState, guard: GuardSave) -> None:
    """The scheduled task's script: services, listeners, rules, profiles, accounts."""
    for saved in guard.services:
        service = state.service(saved.Name)
        if service is not None:
            _restore_service(service, saved)
    for listener in guard.listeners:
        present = any(
            (found.Address, found.Transport) == (listener.Address, listener.Transport)
            for found in state.winrm.listeners
        )
        if not present:
            state.winrm.listeners.append(copy.deepcopy(listener))
    if guard.rules_enabled is not None:
        state.winrm.rules_enabled = guard.rules_enabled
    for saved_profile in guard.profiles:
        profile = state.firewall_profile(saved_profile.Name)
        if profile is not None:
            profile.Enabled = saved_profile.Enabled
            profile.DefaultInboundAction = saved_profile.DefaultInboundAction
    for account in state.user_accounts:
        if account.SID in guard.local_users:
            account.Disabled = False
    for user in state.ad_users:
        if user.SamAccountName in guard.domain_users:
            user.Enabled = True
    guard.Reverted = True


def _restore_service(service: Service, saved: Service) -> None:
    service.StartType = saved.StartType
    if saved.Status in ("Running", "Stopped"):
        service.Status = saved.Status


def _is_task(task: ScheduledTask, name: str) -> bool:
    return (task.TaskPath, task.TaskName) == (TASK_PATH, name)
