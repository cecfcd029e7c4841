"""Every PowerShell script Osiris ships or sends parses without errors.

Windows cannot run here, so a syntax error in a probe, runbook or playbook script would
only show on a customer's host. tree-sitter-powershell parses each one: the probe of
every Windows check alone and inside the bundle ``build_bundle`` makes (where it sits in
a scriptblock), all Windows probes in one bundle, the WinRM bootstrap and every ``*.ps1``
in the repository, the Windows runbooks (playbooks/windows) among them, and each runbook as
osiris sends it (after lib/osiris.ps1 and the lockout guard; in check mode). They must also keep
to Windows PowerShell 5.1 (what every supported Windows ships), and probes must not read
the WinRM session user's own hive.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from osiris.catalog import load_catalog
from osiris.catalog.powershell import parse_problem, parser_available, powershell7_constructs
from osiris.heal.guard import Guard
from osiris.heal.powershell import runbook_script
from osiris.heal.runbooks import load_runbooks
from osiris.model import Platform
from osiris.scan.bundle import build_bundle
from osiris.transport.winrm import BOOTSTRAP

REPO = Path(__file__).resolve().parents[2]
NONCE = "0123456789abcdef"
_SKIP_DIRS = {".venv", ".git", "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
# the test extra installs tree-sitter-powershell: never pass silently without it
assert parser_available(), "tree-sitter-powershell is not installed (pip install -e '.[test]')"


def _ps1_files() -> list[Path]:
    return sorted(
        path
        for path in REPO.rglob("*.ps1")
        if not _SKIP_DIRS.intersection(path.relative_to(REPO).parts)
    )


def collect_scripts() -> dict[str, str]:
    """Every PowerShell script in the repository, by a name that says where it is from."""
    checks = load_catalog().for_platform(Platform.WINDOWS)
    scripts = {"osiris.transport.winrm.BOOTSTRAP": BOOTSTRAP}
    for check in checks:
        scripts[f"{check.id} probe"] = check.spec.probe.script
        scripts[f"{check.id} bundle"] = build_bundle(Platform.WINDOWS, [check], NONCE)
    scripts["bundle of every Windows check"] = build_bundle(Platform.WINDOWS, checks, NONCE)
    for path in _ps1_files():
        scripts[str(path.relative_to(REPO))] = path.read_text(encoding="utf-8-sig")
    guard = Guard("osiris-guard-1", 130, 0.0)
    for runbook in load_runbooks(load_catalog()):
        if runbook.script is not None:  # as osiris sends it: lib, check mode, guard, runbook
            scripts[f"{runbook.id} as sent"] = runbook_script(
                runbook, check_mode=False, guard=guard
            )
            scripts[f"{runbook.id} in check mode"] = runbook_script(runbook, check_mode=True)
    return scripts


def windows_runbook_scripts() -> list[str]:
    """The names ``collect_scripts`` gives the Windows runbooks' PowerShell."""
    runbooks = load_runbooks(load_catalog())
    return sorted(
        str(runbook.script.relative_to(REPO)) for runbook in runbooks if runbook.script is not None
    )


SCRIPTS = collect_scripts()


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_parses(name: str) -> None:
    assert parse_problem(SCRIPTS[name]) is None, f"{name}: {parse_problem(SCRIPTS[name])}"


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_runs_on_windows_powershell_5_1(name: str) -> None:
    assert powershell7_constructs(SCRIPTS[name]) == [], name


@pytest.mark.parametrize(
    ("script", "construct"),
    [
        ("Test-Path C:\\ && 'yes'\n", "pipeline chain operator"),
        ("1..3 | ForEach-Object -Parallel { $_ }\n", "-Parallel"),
    ],
)
def test_powershell_7_syntax_is_caught(script: str, construct: str) -> None:
    found = powershell7_constructs(script)
    assert found == [f"line 1: {construct}"]


def test_probes_never_read_the_session_users_hive() -> None:
    """HKCU of a WinRM session is the scanning account's hive, not the people's."""
    for check in load_catalog().for_platform(Platform.WINDOWS):
        script = check.spec.probe.script.lower()
        assert "hkcu:" not in script and "hkey_current_user" not in script, check.id


def test_enough_scripts_were_parsed() -> None:
    windows_checks = load_catalog().for_platform(Platform.WINDOWS)
    assert len(windows_checks) >= 30
    assert len(SCRIPTS) >= 10
    runbooks = windows_runbook_scripts()
    assert len(runbooks) >= 12
    assert set(runbooks) <= set(SCRIPTS), "the runbooks' .ps1 files are parsed"
    assert len(SCRIPTS) >= 2 * len(windows_checks) + 2 + len(runbooks)
    assert all(text.strip() for text in SCRIPTS.values())


@pytest.mark.parametrize(
    ("script", "line"),
    [
        ("$a = 1\nif ($a { 'yes' }\n", 2),
        ("$facts = [ordered]@{\n    a = 1\n", 1),
        ("foreach ($x in 1, 2) {\n  $x\n}\n}\n", 4),
    ],
)
def test_a_broken_script_is_reported_with_its_line(script: str, line: int) -> None:
    problem = parse_problem(script)
    assert problem is not None
    assert f"at line {line}," in problem
