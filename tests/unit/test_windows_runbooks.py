"""Every Windows runbook in playbooks/windows, run over WinRM against the twin.

The runbooks come from ``load_runbooks(load_catalog())`` and drive the parametrisation,
so a runbook without drift cases (tests/lab/winrm_twin/runbook_cases.py) or without a
twin simulation fails here. Each case drifts a twin host, sends the runbook as osiris
sends it (lib/osiris.ps1, the check-mode line, the .ps1: osiris.heal.powershell) through
osiris's real WinRM transport (HTTPS validated against the test CA, or HTTP with NTLM
message encryption) and measures the outcome the way heal does: the checks the runbook
fixes are probed with their real bundle before (fail or warning) and after (pass). A
second run must report only ``unchanged:`` and leave the state as it was; a refused
case must exit 1 with a PowerShell error and change nothing. Check mode (a dry run) is
tested in test_windows_check_mode.py, the lockout guard in test_windows_guard.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from osiris.catalog import load_catalog
from osiris.catalog.evaluate import evaluate
from osiris.catalog.model import Check
from osiris.heal.powershell import runbook_script
from osiris.heal.runbooks import Runbook, load_runbooks
from osiris.model import Platform, Status
from osiris.scan.bundle import build_bundle, new_nonce, parse_output
from osiris.transport import CommandOutput
from osiris.transport.winrm import WinrmTransport
from osiris.yamlfile import load_yaml
from tests.lab.winrm_twin.runbook_cases import RUNBOOK_CASES, RunbookCase
from tests.lab.winrm_twin.runbooks import RUNBOOK_MARKER, SIMULATIONS
from tests.lab.winrm_twin.state import WindowsState
from tests.unit.windows_twin import Twin, running_twin

PASS, WARNING, FAIL = Status.PASS, Status.WARNING, Status.FAIL
CATALOG = load_catalog()
CHECKS = {check.id: check for check in CATALOG.for_platform(Platform.WINDOWS)}
RUNBOOKS = {
    runbook.id: runbook
    for runbook in load_runbooks(CATALOG)
    if runbook.spec.platform is Platform.WINDOWS
}
# checks whose drift is safe to fix unattended: each needs a runbook without approval
SAFE_FIXES = {
    "win_firewall",
    "win_smbv1",
    "win_guest_disabled",
    "win_rdp_nla",
    "win_screen_lock",
    "win_llmnr",
    "win_smb_signing",
    "win_usb_storage",
    "win_audit_policy",
    "win_password_policy",
    "win_lockout",
    "win_netbios",
    "win_av_status",
    "win_defender_cloud",
    "win_log_retention",
}
# checks whose fix breaks something for someone: their runbooks wait for approval
DISRUPTIVE_FIXES = {"win_tls_ntlm", "win_patch_level", "win_inactive_accounts", "win_spooler_dc"}


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    with running_twin(tmp_path_factory.mktemp("pki")) as started:
        yield started


def judge(
    transport: WinrmTransport, check: Check, thresholds: dict[str, Any] | None = None
) -> tuple[Status, str]:
    """Probe ``check`` through its real bundle and evaluate it, as a scan does (with the
    check's default thresholds unless given the site's)."""
    nonce = new_nonce()
    output = transport.run(build_bundle(Platform.WINDOWS, [check], nonce), timeout=60)
    assert (output.stderr, output.exit_code) == ("", 0)
    probe = parse_output(output.stdout, nonce, [check.id])[check.id]
    if probe.missing is not None:
        return Status(check.spec.applies.when_missing), f"{probe.missing} is missing"
    if probe.facts is None:
        return Status.ERROR, probe.error or "no output"
    return evaluate(check, probe.facts, thresholds or check.default_thresholds())


def drifted_host(twin: Twin, path: Path, case: RunbookCase) -> WindowsState:
    return twin.drifted(path, case)


def printed(output: CommandOutput) -> list[str]:
    return output.stdout.splitlines()


def run_fixing_case(
    twin: Twin, path: Path, runbook: Runbook, case: RunbookCase, scheme: str
) -> set[str]:
    """Run one case end to end; return the checks the drift broke (and the runbook fixed)."""
    script = _script(runbook)
    drifted = drifted_host(twin, path, case)
    transport = twin.transport(case.role, scheme)
    checks = [CHECKS[check_id] for check_id in runbook.spec.fixes]
    broken = {check.id for check in checks if judge(transport, check)[0] in (FAIL, WARNING)}
    assert broken, f"{case}: the drift breaks none of {runbook.spec.fixes}"

    first = transport.run(script, timeout=runbook.spec.timeout)
    assert (first.stderr, first.exit_code) == ("", 0), case
    assert printed(first), case
    assert all(line.startswith("changed: ") for line in printed(first)), first.stdout
    after = WindowsState.load(path)
    assert after != drifted, f"{case}: the state file did not change"
    assert case.shows is None or case.shows(after), f"{case}: the state does not show the fix"
    for check in checks:
        status, reason = judge(transport, check)
        assert status is PASS, f"{case}: {check.id} is {status} after the runbook: {reason}"

    again = transport.run(script, timeout=runbook.spec.timeout)
    assert (again.stderr, again.exit_code) == ("", 0), case
    assert printed(again), case
    assert all(line.startswith("unchanged: ") for line in printed(again)), again.stdout
    assert WindowsState.load(path) == after, f"{case}: the second run changed the state"
    return broken


def _script(runbook: Runbook, *, check_mode: bool = False) -> str:
    """What osiris sends over WinRM: lib/osiris.ps1, the check-mode line, the runbook."""
    return runbook_script(runbook, check_mode=check_mode)


def _source(runbook: Runbook) -> str:
    assert runbook.script is not None
    return runbook.script.read_text(encoding="utf-8")


# -- every runbook fixes what it claims, measured over WinRM ---------------------------------


@pytest.mark.parametrize("runbook_id", sorted(RUNBOOKS))
def test_runbook_fixes_its_checks_over_winrm(twin: Twin, tmp_path: Path, runbook_id: str) -> None:
    runbook = RUNBOOKS[runbook_id]
    assert runbook_id in SIMULATIONS, f"{runbook_id}: no twin simulation (runbooks*.py)"
    cases = [case for case in RUNBOOK_CASES.get(runbook_id, []) if case.fails is None]
    assert cases, f"{runbook_id}: no drift cases in tests/lab/winrm_twin/runbook_cases.py"
    broken: set[str] = set()
    for index, case in enumerate(cases):
        scheme = ("https", "http")[index % 2]
        broken |= run_fixing_case(twin, tmp_path / f"case{index}.json", runbook, case, scheme)
    assert broken == set(runbook.spec.fixes), "a check the runbook fixes is never drifted"


@pytest.mark.parametrize(
    ("runbook_id", "check_id", "site", "variables", "shows"),
    [
        (
            "windows_password_policy_set",
            "win_password_policy",
            {"min_length": 16},
            {"osiris_min_length": 16},
            lambda s: s.security_policy.MinimumPasswordLength == 16,
        ),
        (
            "windows_lockout_policy_set",
            "win_lockout",
            {"max_bad_count": 3},
            {"osiris_max_bad_count": 3},
            lambda s: s.security_policy.LockoutBadCount == 3,
        ),
        (
            "windows_screen_lock_set",
            "win_screen_lock",
            {"max_seconds": 600},
            {"osiris_max_seconds": 600},
            lambda s: s.InactivityTimeoutSecs == 600,
        ),
        (
            "windows_autorun_disable",
            "win_usb_storage",
            {"autorun_off_mask": 145},
            {"osiris_autorun_off_mask": 145},
            lambda s: s.usb_storage.NoDriveTypeAutoRun == 145,
        ),
        (
            "windows_usb_storage_block",
            "win_usb_storage",
            {"autorun_off_mask": 145},
            {"osiris_autorun_off_mask": 145},
            lambda s: s.usb_storage.NoDriveTypeAutoRun == 145,
        ),
    ],
)
def test_a_tightened_threshold_is_what_a_windows_runbook_enforces(
    twin: Twin,
    tmp_path: Path,
    runbook_id: str,
    check_id: str,
    site: dict[str, Any],
    variables: dict[str, Any],
    shows: Callable[[WindowsState], bool],
) -> None:
    """Sent with the site's value (as osiris.heal.variables resolves it), the runbook
    meets the site's threshold; sent with the playbook's default, it falls short of it."""
    runbook, check = RUNBOOKS[runbook_id], CHECKS[check_id]
    thresholds = {**check.default_thresholds(), **site}
    case = next(c for c in RUNBOOK_CASES[runbook_id] if c.fails is None)
    for sent, expected in (({}, False), (variables, True)):
        path = tmp_path / f"{bool(sent)}.json"
        drifted_host(twin, path, case)
        transport = twin.transport(case.role, "https")
        script = runbook_script(runbook, check_mode=False, variables=sent)
        output = transport.run(script, timeout=60)
        assert (output.stderr, output.exit_code) == ("", 0)
        assert shows(WindowsState.load(path)) is expected
        status, reason = judge(transport, check, thresholds)
        assert (status is PASS) is expected, reason


def test_a_dc_starts_the_services_the_site_requires_not_a_fixed_list(
    twin: Twin, tmp_path: Path
) -> None:
    """A domain controller whose DNS runs elsewhere: with the built-in list the runbook
    fails on the missing DNS service; with the site's list (no DNS) it starts what is
    stopped, succeeds, and the check passes by the site's thresholds."""
    runbook, check = RUNBOOKS["windows_critical_services_start"], CHECKS["win_critical_services"]
    site = {"required_services_dc": ["NTDS", "Kdc", "Netlogon", "W32Time"]}
    case = RunbookCase("domain_controller", ("dc_service_stopped",), setup=_no_dns)
    transport = twin.transport(case.role, "https")

    drifted_host(twin, tmp_path / "default.json", case)
    output = transport.run(runbook_script(runbook, check_mode=False), timeout=60)
    assert output.exit_code == 1 and "not installed, so not started: DNS" in output.stderr

    drifted_host(twin, tmp_path / "site.json", case)
    variables = {"osiris_required_services_dc": site["required_services_dc"]}
    output = transport.run(
        runbook_script(runbook, check_mode=False, variables=variables), timeout=60
    )
    assert (output.stderr, output.exit_code) == ("", 0)
    assert "changed: NTDS Status Stopped -> Running" in printed(output)
    status, reason = judge(transport, check, {**check.default_thresholds(), **site})
    assert status is PASS, reason


def _no_dns(state: WindowsState) -> None:
    state.services = [s for s in state.services if s.Name != "DNS"]


REFUSALS = [
    (runbook_id, case)
    for runbook_id, cases in sorted(RUNBOOK_CASES.items())
    for case in cases
    if case.fails is not None
]


@pytest.mark.parametrize(
    ("runbook_id", "case"), REFUSALS, ids=[f"{rid}-{'+'.join(c.drifts)}" for rid, c in REFUSALS]
)
def test_runbook_refuses_and_changes_nothing(
    twin: Twin, tmp_path: Path, runbook_id: str, case: RunbookCase
) -> None:
    runbook = RUNBOOKS[runbook_id]
    path = tmp_path / "host.json"
    drifted = drifted_host(twin, path, case)
    output = twin.transport(case.role, "https").run(_script(runbook), timeout=60)
    assert output.exit_code == 1
    assert case.fails is not None and case.fails in output.stderr
    assert "\r\nAt line:" in output.stderr and "FullyQualifiedErrorId" in output.stderr
    assert not any(line.startswith("changed: ") for line in printed(output))
    assert WindowsState.load(path) == drifted


def test_a_runbook_the_twin_does_not_simulate_is_a_powershell_error(
    twin: Twin, tmp_path: Path
) -> None:
    path = tmp_path / "host.json"
    drifted_host(twin, path, RunbookCase("workstation", ()))
    script = f"{RUNBOOK_MARKER} windows_reboot_everything\nRestart-Computer -Force\n"
    output = twin.transport("workstation", "http").run(script, timeout=30)
    assert (output.stdout, output.exit_code) == ("", 1)
    assert output.stderr.startswith(
        "The WinRM twin does not simulate runbook 'windows_reboot_everything'.\r\n"
        "At line:1 char:1\r\n+ # osiris:runbook windows_reboot_everything\r\n"
    )
    assert "FullyQualifiedErrorId : RunbookNotSimulated" in output.stderr


# -- the runbook files ----------------------------------------------------------------------


def test_the_twin_simulates_exactly_the_windows_runbooks() -> None:
    assert set(SIMULATIONS) == set(RUNBOOKS)
    assert set(RUNBOOK_CASES) == set(RUNBOOKS)


@pytest.mark.parametrize("runbook_id", sorted(RUNBOOKS))
def test_playbook_wraps_its_script(runbook_id: str) -> None:
    runbook = RUNBOOKS[runbook_id]
    script = _source(runbook)
    assert script.startswith(f"{RUNBOOK_MARKER} {runbook_id}\n")
    assert "\n$ErrorActionPreference = 'Stop'\n" in script
    assert "'unchanged: " in script or '"unchanged: ' in script
    data: Any = load_yaml(runbook.playbook)[0]
    assert len(data) == 1, "one play"
    (task,) = data[0]["tasks"]
    assert task["ansible.builtin.include_tasks"] == "lib/run_runbook.yml"
    assert runbook.spec.needs_approval is not None, "needs_approval is spelt out"
    assert runbook.needs_approval is runbook.spec.disruptive


def test_safe_fixes_need_no_approval_and_disruptive_ones_do() -> None:
    unattended = {fix for r in RUNBOOKS.values() if not r.needs_approval for fix in r.spec.fixes}
    assert unattended >= SAFE_FIXES, SAFE_FIXES - unattended
    for runbook in RUNBOOKS.values():
        if DISRUPTIVE_FIXES.intersection(runbook.spec.fixes):
            assert runbook.spec.disruptive and runbook.needs_approval, runbook.id


def test_runbooks_that_can_cut_osiris_off_say_so() -> None:
    """The lockout guard reconnects after firewall, WinRM and account changes."""
    risky = {"windows_firewall_enable", "windows_critical_services_start"}
    for runbook_id in risky:
        assert RUNBOOKS[runbook_id].risks_lockout, runbook_id
    assert RUNBOOKS["windows_inactive_accounts_disable"].risks_lockout
