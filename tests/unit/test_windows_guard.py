"""The lockout guard on Windows, against the twin (tests/unit/windows_twin.py).

osiris arms the guard in the runbook's prelude (osiris.heal.guard, .powershell), sends
the runbook through its executor over the real WinRM transport, reconnects and disarms
it the way `osiris heal` does. The twin refuses connections the way the host in its
state would, and runs the guard's scheduled task once its clock has passed the task's
time: the tests move that clock instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from osiris.catalog import load_catalog
from osiris.heal import guard
from osiris.heal.executor import reachable, run_runbook
from osiris.heal.powershell import runbook_script
from osiris.heal.runbooks import Touch, load_runbooks
from osiris.transport.base import TransportOptions
from tests.lab.winrm_twin import guard as twin_guard
from tests.lab.winrm_twin.access import WinrmListener
from tests.lab.winrm_twin.presets import build_preset
from tests.lab.winrm_twin.runbook_cases import RunbookCase
from tests.lab.winrm_twin.state import WindowsState, now_utc
from tests.unit.windows_twin import Twin, running_twin

RUNBOOKS = load_runbooks(load_catalog())
OPTIONS = TransportOptions()
TIMER = 130  # what heal would set: the runbook's timeout (120) + guard_seconds (10)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    with running_twin(tmp_path_factory.mktemp("pki")) as started:
        yield started


def guard_tasks(state: WindowsState) -> list[str]:
    return [t.TaskPath + t.TaskName for t in state.scheduled_tasks if t.TaskPath == "\\Osiris\\"]


def test_a_change_that_cuts_winrm_is_reverted_by_the_armed_task(twin: Twin, tmp_path: Path) -> None:
    path = tmp_path / "host.json"
    drifted = twin.drifted(path, RunbookCase("member_server", ("winrm_needs_firewall_off",)))
    host = twin.host("member_server")
    armed = guard.arm(host, OPTIONS, 7, TIMER)
    outcome = run_runbook(RUNBOOKS.get("windows_firewall_enable"), host, OPTIONS, guard=armed)
    assert outcome.ok, outcome.detail
    assert outcome.output.startswith(
        "guard: osiris-guard-7 armed; it restores firewall in 130 s unless osiris disarms it\r\n"
    )
    cut = WindowsState.load(path)
    assert guard_tasks(cut) == ["\\Osiris\\osiris-guard-7"]
    assert cut.firewall_profile("Public").Enabled  # type: ignore[union-attr]

    lost = reachable(host, OPTIONS)
    assert lost is not None and lost.startswith("unreachable: "), lost
    assert twin.servers["https"].stats.refused >= 1  # the firewall now blocks WinRM

    twin.let_time_pass(TIMER + 1)  # the task's time: the next connection finds it reverted
    assert reachable(host, OPTIONS) is None
    reverted = WindowsState.load(path)
    assert not reverted.firewall_profile("Public").Enabled  # type: ignore[union-attr]
    assert [g.Reverted for g in reverted.osiris_guards] == [True]
    assert guard.disarm(host, OPTIONS, armed) == "reverted"
    assert WindowsState.load(path) == drifted  # as before the runbook, and no task left


def test_osiris_back_in_time_disarms_the_guard(twin: Twin, tmp_path: Path) -> None:
    path = tmp_path / "host.json"
    twin.drifted(path, RunbookCase("workstation", ("firewall_public_off",)))
    host = twin.host("workstation", "http")
    armed = guard.arm(host, OPTIONS, 8, TIMER)
    outcome = run_runbook(RUNBOOKS.get("windows_firewall_enable"), host, OPTIONS, guard=armed)
    assert outcome.ok and outcome.changed, outcome.detail
    assert reachable(host, OPTIONS) is None  # the WinRM rules let osiris in
    assert guard.disarm(host, OPTIONS, armed) == "disarmed"
    healed = WindowsState.load(path)
    assert guard_tasks(healed) == [] and healed.osiris_guards == []
    twin.let_time_pass(TIMER * 10)  # nothing is left to fire
    assert reachable(host, OPTIONS) is None
    assert WindowsState.load(path) == healed
    assert healed.firewall_profile("Public").Enabled  # type: ignore[union-attr]


def test_the_guard_puts_disabled_accounts_back(twin: Twin, tmp_path: Path) -> None:
    path = tmp_path / "host.json"
    drifted = twin.drifted(path, RunbookCase("workstation", ("guest_enabled",)))
    host = twin.host("workstation")
    armed = guard.arm(host, OPTIONS, 9, 70)
    outcome = run_runbook(RUNBOOKS.get("windows_guest_disable"), host, OPTIONS, guard=armed)
    assert "it restores accounts in 70 s" in outcome.output
    assert all(a.Disabled for a in WindowsState.load(path).accounts_with_rid(501))
    twin.let_time_pass(71)  # osiris never came back in time
    assert guard.disarm(host, OPTIONS, armed) == "reverted"
    assert WindowsState.load(path) == drifted


def test_check_mode_never_arms_a_guard() -> None:
    runbook = RUNBOOKS.get("windows_firewall_enable")
    armed = guard.Guard("osiris-guard-1", TIMER, 0.0)
    with pytest.raises(ValueError, match="no lockout guard"):
        runbook_script(runbook, check_mode=True, guard=armed)
    assert "Register-OsirisGuard -Name" not in runbook_script(runbook, check_mode=True)


def test_the_prelude_saves_what_the_runbook_touches() -> None:
    armed = guard.Guard("osiris-guard-3", 90, 0.0)
    touches = [Touch.SERVICES, Touch.FIREWALL, Touch.WINRM, Touch.ACCOUNTS, Touch.FIREWALL]
    prelude = guard.windows_prelude(armed, touches)
    assert prelude.endswith(
        "\nRegister-OsirisGuard -Name 'osiris-guard-3' -Seconds 90"
        " -Save @('firewall', 'winrm', 'accounts')\n"
    )
    assert "function Register-OsirisGuard(" in prelude


def test_the_twin_restores_the_winrm_service_and_listeners() -> None:
    """No shipped runbook touches WinRM itself; the twin's revert of the 'winrm' part
    (service, listeners, rules) is checked on its own."""
    now = now_utc()
    state = build_preset("member_server")
    before = WindowsState.from_dict(state.to_dict())
    twin_guard.arm(state, "osiris-guard-4", 60, ["winrm"], now)
    state.service("WinRM").Status = "Stopped"  # type: ignore[union-attr]
    state.winrm.listeners = [WinrmListener("HTTP", 5985)]
    state.winrm.rules_enabled = False
    assert not twin_guard.admits(state, "http")
    assert not twin_guard.fire_due(state, now)
    assert twin_guard.fire_due(state, now + timedelta(seconds=61))
    assert twin_guard.admits(state, "https") and twin_guard.admits(state, "http")
    assert twin_guard.disarm(state, "osiris-guard-4") == "reverted"
    assert state == before
