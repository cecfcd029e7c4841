"""Every Windows check, probe to status, against the WinRM twin's simulated hosts.

Each check's real probe bundle (``build_bundle``) goes to ``WindowsTwin.run_powershell``;
its output is split with ``parse_output`` and judged with ``evaluate``, exactly as a scan
does. The cases (tests/lab/winrm_twin/cases.py) are keyed by check id and the catalog
drives the parametrisation, so a new Windows check fails here until it has a twin answer
and cases that reach every status its rules declare, ``error`` and ``na`` included.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from osiris.catalog import load_catalog
from osiris.catalog.evaluate import evaluate, shape_error
from osiris.catalog.model import Check
from osiris.model import Connection, Host, Platform, Role, Status
from osiris.scan.bundle import ProbeOutput, build_bundle, new_nonce, parse_output
from osiris.scan.interpret import interpret, split_applicable
from osiris.transport import CommandOutput
from tests.lab.winrm_twin.answers import ANSWERS
from tests.lab.winrm_twin.cases import CASES, Case
from tests.lab.winrm_twin.presets import DRIFTS, apply_drift, build_preset
from tests.lab.winrm_twin.scripts import WindowsTwin
from tests.lab.winrm_twin.state import OSIRIS_ROLES, TWIN_ROLES, HotFix, TwinRole, WindowsState

NOW = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
PASS, WARNING, FAIL, ERROR, NA = Status.PASS, Status.WARNING, Status.FAIL, Status.ERROR, Status.NA
CHECKS = {check.id: check for check in load_catalog().for_platform(Platform.WINDOWS)}
EMPTY: Mapping[str, Any] = {}


def roles_of(check: Check) -> list[TwinRole]:
    return [role for role in TWIN_ROLES if check.applies_to(OSIRIS_ROLES[role])]


def save_host(tmp_path: Path, role: TwinRole, *drifts: str) -> Path:
    state = build_preset(role, now=NOW)
    for name in drifts:
        apply_drift(state, name, now=NOW)
    path = tmp_path / f"{role}.json"
    state.save(path)
    return path


def twin(path: Path) -> WindowsTwin:
    return WindowsTwin(path, clock=lambda: NOW)


def probe(check: Check, path: Path) -> ProbeOutput:
    nonce = new_nonce()
    stdout, stderr, code = twin(path).run_powershell(build_bundle(Platform.WINDOWS, [check], nonce))
    assert (stderr, code) == ("", 0)
    return parse_output(stdout, nonce, [check.id])[check.id]


def judge(check: Check, path: Path, overrides: Mapping[str, Any] = EMPTY) -> tuple[Status, str]:
    output = probe(check, path)
    if output.missing is not None:
        return Status(check.spec.applies.when_missing), f"{output.missing} is missing"
    if output.facts is None:
        return ERROR, output.error or "no output"
    return evaluate(check, output.facts, {**check.default_thresholds(), **overrides})


def windows_host(role: TwinRole) -> Host:
    return Host(f"twin-{role}", "127.0.0.1", Connection.WINRM, Platform.WINDOWS, OSIRIS_ROLES[role])


# -- coverage: a check without answers or cases fails ---------------------------------------


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_windows_check_is_simulated_with_cases(check_id: str) -> None:
    check = CHECKS[check_id]
    assert check_id in ANSWERS, f"{check_id}: no twin answer (tests/lab/winrm_twin/answers*.py)"
    assert check_id in CASES, f"{check_id}: no drift cases in tests/lab/winrm_twin/cases.py"
    declared = {rule.status for rule in check.rules}
    if check.spec.applies.requires and check.spec.applies.when_missing != "na":
        declared.add(Status(check.spec.applies.when_missing))
    reached = {PASS} | {case.status for case in CASES[check_id]}
    assert declared <= reached, f"{check_id}: no case reaches {declared - reached}"


def test_cases_name_known_checks_roles_thresholds_and_use_every_drift() -> None:
    assert set(CASES) <= set(CHECKS)
    used = {case.drift for cases in CASES.values() for case in cases}
    assert used <= set(DRIFTS)
    assert set(DRIFTS) <= used, f"drifts no case uses: {set(DRIFTS) - used}"
    for check_id, cases in CASES.items():
        for case in cases:
            assert case.role in roles_of(CHECKS[check_id]), (check_id, case)
            assert set(case.thresholds) <= set(CHECKS[check_id].spec.thresholds), case


def test_at_least_thirty_windows_checks_cover_every_role() -> None:
    assert len(CHECKS) >= 30
    for role in TWIN_ROLES:
        assert len([c for c in CHECKS.values() if role in roles_of(c)]) >= 25, role


# -- pass, warning, fail, na, error ------------------------------------------------------


@pytest.mark.parametrize(
    ("check_id", "role"),
    [(cid, role) for cid, check in sorted(CHECKS.items()) for role in roles_of(check)],
)
def test_clean_host_passes(tmp_path: Path, check_id: str, role: TwinRole) -> None:
    status, reason = judge(CHECKS[check_id], save_host(tmp_path, role))
    assert status is PASS, reason


def _case_id(check_id: str, case: Case) -> str:
    tuned = ",".join(f"{name}={value}" for name, value in case.thresholds.items())
    return f"{check_id}-{case.role}-{case.drift}-{case.status}" + (f"-{tuned}" if tuned else "")


ALL_CASES = [(cid, case) for cid, cases in sorted(CASES.items()) for case in cases]


@pytest.mark.parametrize(("check_id", "case"), ALL_CASES, ids=[_case_id(*c) for c in ALL_CASES])
def test_drift_gives_status(tmp_path: Path, check_id: str, case: Case) -> None:
    path = save_host(tmp_path, case.role, case.drift)
    status, reason = judge(CHECKS[check_id], path, case.thresholds)
    assert status is case.status, reason


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_role_filter_gives_na_elsewhere(check_id: str) -> None:
    check = CHECKS[check_id]
    for role in TWIN_ROLES:
        probed, skipped = split_applicable(windows_host(role), [check])
        if role in roles_of(check):
            assert (probed, skipped) == ([check], [])
        else:
            assert probed == []
            assert [(r.check_id, r.status) for r in skipped] == [(check_id, NA)]


def test_role_specific_checks() -> None:
    assert roles_of(CHECKS["win_spooler_dc"]) == ["domain_controller"]
    assert roles_of(CHECKS["win_backup_recency"]) == ["member_server", "domain_controller"]


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_twin_facts_match_the_declared_shape(tmp_path: Path, check_id: str) -> None:
    check = CHECKS[check_id]
    seen = 0
    for role in roles_of(check):
        drifts = [case.drift for case in CASES.get(check_id, []) if case.role == role]
        for drift in [None, *drifts]:
            output = probe(check, save_host(tmp_path, role, *([drift] if drift else [])))
            if output.facts is None:
                continue  # missing command or a probe that throws: no facts to shape
            assert shape_error(output.facts, check.spec.facts) is None, (role, drift)
            assert list(output.facts) == list(check.spec.facts), "facts in declared order"
            seen += 1
    assert seen >= 1


# -- whole scans --------------------------------------------------------------------------


def scan(path: Path, role: TwinRole) -> dict[str, Status]:
    host = windows_host(role)
    probed, skipped = split_applicable(host, list(CHECKS.values()))
    nonce = new_nonce()
    stdout, stderr, code = twin(path).run_powershell(build_bundle(Platform.WINDOWS, probed, nonce))
    outcome = interpret(
        host,
        probed,
        skipped,
        nonce,
        CommandOutput(stdout, stderr, code),
        thresholds_for=lambda check: check.default_thresholds(),
        duration_ms=0.0,
    )
    assert len(outcome.results) == len(CHECKS)
    return {result.check_id: result.status for result in outcome.results}


@pytest.mark.parametrize("role", TWIN_ROLES)
def test_one_bundle_scans_a_clean_host(tmp_path: Path, role: TwinRole) -> None:
    statuses = scan(save_host(tmp_path, role), role)
    expected = {cid: PASS if role in roles_of(c) else NA for cid, c in CHECKS.items()}
    assert statuses == expected


@pytest.mark.parametrize("role", TWIN_ROLES)
def test_drifted_profile_fails_several_checks(tmp_path: Path, role: TwinRole) -> None:
    path = tmp_path / "drifted.json"
    WindowsState.preset(role, "drifted", now=NOW).save(path)
    statuses = scan(path, role)
    failed = {cid for cid, status in statuses.items() if status is FAIL}
    assert len(failed) >= 8, statuses
    assert {"win_firewall", "win_smbv1", "win_guest_disabled", "win_rdp_nla"} <= failed
    assert {"win_llmnr", "win_smb_signing"} <= failed


def test_missing_cmdlet_prints_the_missing_frame(tmp_path: Path) -> None:
    check = CHECKS["win_bitlocker"]
    path = save_host(tmp_path, "member_server", "bitlocker_feature_missing")
    stdout, _, _ = twin(path).run_powershell(build_bundle(Platform.WINDOWS, [check], "feed"))
    assert stdout == "@@osiris feed missing win_bitlocker Get-BitLockerVolume\r\n"
    assert scan(path, "member_server")["win_bitlocker"] is FAIL


def test_frames_are_the_bundle_runners(tmp_path: Path) -> None:
    check = CHECKS["win_screen_lock"]
    path = save_host(tmp_path, "workstation")
    stdout, _, _ = twin(path).run_powershell(build_bundle(Platform.WINDOWS, [check], "f00d"))
    lines = stdout.split("\r\n")
    assert lines[:3] == [
        "@@osiris f00d begin win_screen_lock",
        '{"InactivityTimeoutSecs":900}',
        "",
    ]
    assert lines[3].startswith("@@osiris f00d end win_screen_lock 0 ")
    assert lines[4:] == [""]


def test_a_probe_that_throws_reports_exit_1_and_stderr(tmp_path: Path) -> None:
    path = save_host(tmp_path, "workstation", "defender_stopped")
    output = probe(CHECKS["win_av_signatures"], path)
    assert output.facts is None
    assert output.error == "probe exited 1: Operation failed with the following error: 0x800106ba"


def test_unknown_probe_is_not_simulated(tmp_path: Path) -> None:
    bundle = build_bundle(Platform.WINDOWS, [CHECKS["win_firewall"]], "beef")
    bundle = bundle.replace("win_firewall", "win_not_a_check")
    stdout, _, code = twin(save_host(tmp_path, "workstation")).run_powershell(bundle)
    assert code == 0
    output = parse_output(stdout, "beef", ["win_not_a_check"])["win_not_a_check"]
    assert output.error == (
        "probe exited 1: the probe of win_not_a_check is not simulated by the WinRM twin"
    )


def test_unknown_script_gives_the_powershell_error(tmp_path: Path) -> None:
    path = save_host(tmp_path, "workstation")
    stdout, stderr, code = twin(path).run_powershell("# tidy up\nRemove-Junk -Force\n")
    assert (stdout, code) == ("", 1)
    assert stderr.startswith(
        "Remove-Junk : The term 'Remove-Junk' is not recognized as the name of a cmdlet, "
        "function, script file, or operable program."
    )
    assert "At line:2 char:1\r\n+ Remove-Junk -Force\r\n+ ~~~~~~~~~~~\r\n" in stderr
    assert "CategoryInfo          : ObjectNotFound: (Remove-Junk:String) []" in stderr
    assert "FullyQualifiedErrorId : CommandNotFoundException" in stderr


# -- the state file ------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["clean", "drifted"])
@pytest.mark.parametrize("role", [*TWIN_ROLES, Role.SERVER])
def test_state_round_trips_through_its_file(
    tmp_path: Path, role: TwinRole | Role, profile: str
) -> None:
    state = WindowsState.preset(role, profile, now=NOW)
    path = tmp_path / "state.json"
    state.save(path)
    assert WindowsState.load(path) == state
    assert state.osiris_role in (Role.WORKSTATION, Role.SERVER, Role.DOMAIN_CONTROLLER)


def test_state_file_rejects_unknown_fields(tmp_path: Path) -> None:
    data = build_preset("workstation", now=NOW).to_dict()
    data["smb"]["EnableSMB3Protocl"] = True
    with pytest.raises(ValueError, match="EnableSMB3Protocl"):
        WindowsState.from_dict(data)
    data = build_preset("workstation", now=NOW).to_dict() | {"role": "server"}
    with pytest.raises(ValueError, match="role must be one of"):
        WindowsState.from_dict(data)


def _add_hotfixes(path: str, worker: int, count: int) -> None:
    for index in range(count):
        with WindowsState.update(Path(path)) as state:
            state.hotfixes.append(HotFix(f"KB{worker}{index:03d}", "2025-03-01T00:00:00Z"))


def test_concurrent_updates_are_not_lost(tmp_path: Path) -> None:
    path = save_host(tmp_path, "workstation")
    before = len(WindowsState.load(path).hotfixes)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_add_hotfixes, args=(str(path), w, 15)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert len(WindowsState.load(path).hotfixes) == before + 4 * 15
