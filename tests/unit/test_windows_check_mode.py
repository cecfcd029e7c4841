"""Check mode of the Windows runbooks: what `osiris heal --dry-run` runs on Windows.

Over WinRM against the twin (tests/unit/windows_twin.py), through osiris's executor: on
every drifted case of every runbook, check mode must report at least one change as the
action's diff and leave the twin's state file byte for byte as it was; the real run
that follows makes exactly those changes (where check mode can know them in advance).
Refusals refuse in check mode too. Since the twin runs no PowerShell, the scripts
themselves are checked with tree-sitter: every command that changes a host sits behind
``$OsirisCheckMode``. And Ansible, which runs the same runbooks (``lib/assemble.yml``),
must assemble byte for byte the script osiris sends, with ``--check`` and without.
"""

from __future__ import annotations

import base64
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from osiris.ansible.inventory import GeneratedInventory
from osiris.ansible.runner import run_playbook
from osiris.catalog import load_catalog
from osiris.catalog.powershell import _parser
from osiris.heal.executor import run_runbook
from osiris.heal.powershell import changes, lib_path, runbook_script
from osiris.heal.runbooks import load_runbooks
from osiris.model import Platform
from osiris.shipped import shipped_dir
from osiris.transport.base import TransportOptions
from osiris.yamlfile import load_yaml
from tests.lab.winrm_twin.runbook_cases import RUNBOOK_CASES, RunbookCase
from tests.lab.winrm_twin.runbooks import SIMULATIONS
from tests.lab.winrm_twin.state import WindowsState
from tests.unit.windows_twin import Twin, running_twin

RUNBOOKS = {
    runbook.id: runbook
    for runbook in load_runbooks(load_catalog())
    if runbook.spec.platform is Platform.WINDOWS
}
REFUSALS = [
    (runbook_id, case)
    for runbook_id, cases in sorted(RUNBOOK_CASES.items())
    for case in cases
    if case.fails is not None
]


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    with running_twin(tmp_path_factory.mktemp("pki")) as started:
        yield started


@pytest.mark.parametrize("runbook_id", sorted(RUNBOOKS))
def test_check_mode_reports_changes_and_changes_nothing(
    twin: Twin, tmp_path: Path, runbook_id: str
) -> None:
    runbook = RUNBOOKS[runbook_id]
    cases = [case for case in RUNBOOK_CASES[runbook_id] if case.fails is None]
    assert cases
    for index, case in enumerate(cases):
        path = tmp_path / f"case{index}.json"
        twin.drifted(path, case)
        before = path.read_bytes()
        host = twin.host(case.role, ("https", "http")[index % 2])
        dry = run_runbook(runbook, host, TransportOptions(), check_mode=True)
        assert dry.ok and dry.changed, f"{case}: {dry.detail}"
        assert dry.diff, f"{case}: no diff"
        assert path.read_bytes() == before, f"{case}: check mode changed the state"
        real = run_runbook(runbook, host, TransportOptions())
        assert real.ok, f"{case}: {real.detail}"
        assert path.read_bytes() != before, f"{case}: the real run changed nothing"
        if SIMULATIONS[runbook_id].check is None:  # check mode can know the outcome
            assert changes(real.output) == dry.diff.splitlines(), case


def test_the_dry_run_diff_reads_before_and_after(twin: Twin, tmp_path: Path) -> None:
    case = RunbookCase("workstation", ("log_security_small", "firewall_public_off"))
    twin.drifted(tmp_path / "host.json", case)
    host = twin.host("workstation")
    logs = run_runbook(
        RUNBOOKS["windows_event_log_size_set"], host, TransportOptions(), check_mode=True
    )
    assert logs.diff.startswith("Security log MaximumSizeInBytes ")
    assert logs.diff.endswith(" -> 201326592")
    firewall = run_runbook(
        RUNBOOKS["windows_firewall_enable"], host, TransportOptions(), check_mode=True
    )
    assert firewall.diff == "firewall profile Public Enabled False -> True"


@pytest.mark.parametrize(
    ("runbook_id", "case"), REFUSALS, ids=[f"{rid}-{'+'.join(c.drifts)}" for rid, c in REFUSALS]
)
def test_check_mode_refuses_where_the_run_would(
    twin: Twin, tmp_path: Path, runbook_id: str, case: RunbookCase
) -> None:
    path = tmp_path / "host.json"
    twin.drifted(path, case)
    before = path.read_bytes()
    script = runbook_script(RUNBOOKS[runbook_id], check_mode=True)
    output = twin.transport(case.role, "https").run(script, timeout=60)
    assert output.exit_code == 1
    assert case.fails is not None and case.fails in output.stderr
    assert path.read_bytes() == before


def test_a_runbook_sent_without_the_shared_lib_fails_and_changes_nothing(
    twin: Twin, tmp_path: Path
) -> None:
    path = tmp_path / "host.json"
    drifted = twin.drifted(path, RunbookCase("workstation", ("lockout_off",)))
    script = RUNBOOKS["windows_lockout_policy_set"].script
    assert script is not None
    output = twin.transport("workstation", "http").run(script.read_text(), timeout=60)
    assert output.exit_code == 1
    assert output.stderr.startswith(
        "Get-OsirisSystemAccess : The term 'Get-OsirisSystemAccess' is not recognized"
    )
    assert WindowsState.load(path) == drifted


# -- the scripts: every change behind $OsirisCheckMode --------------------------------------

# Commands that change a host: cmdlets by verb (but not the builders New-Object,
# New-TimeSpan, New-ScheduledTask*, nor Start-Sleep), and native tools by the arguments
# that write.
CHANGING_VERBS: tuple[str, ...] = ("set-", "new-", "remove-", "start-", "stop-", "restart-")
CHANGING_VERBS += (
    "enable-",
    "disable-",
    "register-",
    "unregister-",
    "update-",
    "install-",
    "move-",
)
NOT_CHANGING = ("new-object", "new-timespan", "new-scheduledtask", "start-sleep")
NATIVE_WRITES = {
    "auditpol": "/set",
    "sc.exe": "config",
    "w32tm": ("/config", "/resync"),
    "secedit": "/configure",
    "gpupdate": "",
}
# lib functions that honour check mode themselves (their bodies are checked below)
CHECK_AWARE = {"set-osirisdword"}
# lib functions that change nothing but a temporary file of their own, or whose callers
# must check $OsirisCheckMode (a runbook's call to them is a change)
LIB_EXEMPT = {"get-osirissystemaccess", "set-osirissystemaccess"}


def unguarded_changes(script: str) -> list[str]:
    """``line N: command (in function F)`` for every change not behind the check mode."""
    root = _parser().parse(script.encode("utf-8")).root_node
    found: list[str] = []
    _walk(root, found)
    return found


def _walk(node: Any, found: list[str]) -> None:
    if node.type == "command":
        name = _text(node.child_by_field_name("command_name") or node.children[0]).lower()
        arguments = _text(node)[len(name) :].lower()
        if _changes(name, arguments) and not _guarded(node):
            function = _function(node)
            found.append(f"line {node.start_point.row + 1}: {name} (in {function})")
    elif (
        node.type == "invokation_expression"
        and b".SaveChanges(" in (node.text or b"")
        and not _guarded(node)
    ):
        found.append(f"line {node.start_point.row + 1}: .SaveChanges() (in {_function(node)})")
    for child in node.children:
        _walk(child, found)


def _changes(name: str, arguments: str) -> bool:
    if name in CHECK_AWARE or name.startswith(NOT_CHANGING):
        return False
    if name.startswith(CHANGING_VERBS):
        return True
    writes = NATIVE_WRITES.get(name)
    if writes is None:
        return False
    marks = (writes,) if isinstance(writes, str) else writes
    return any(mark in arguments for mark in marks)


def _guarded(node: Any) -> bool:
    """In the block of ``if (-not $OsirisCheckMode)`` (``... -and`` allowed), in the
    else or elseif of ``if ($OsirisCheckMode)``, or after ``if ($OsirisCheckMode) {
    ... return }`` in an enclosing block."""
    child, parent = node, node.parent
    while parent is not None:
        if parent.type in ("if_statement", "elseif_clause"):
            condition = _condition(parent)
            if child.type == "statement_block" and _NOT_CHECK_MODE.fullmatch(condition):
                return True
            if child.type in ("else_clause", "elseif_clauses") and condition == "$OsirisCheckMode":
                return True
        if parent.type == "statement_list":
            for sibling in parent.children:
                if sibling.start_byte >= child.start_byte:
                    break
                if sibling.type == "if_statement" and _returns_in_check_mode(sibling):
                    return True
        child, parent = parent, parent.parent
    return False


_NOT_CHECK_MODE = re.compile(r"((?!.* -or ).+ -and )?-not \$OsirisCheckMode", re.IGNORECASE)


def _condition(statement: Any) -> str:
    return _text(next((c for c in statement.children if c.type == "pipeline"), None))


def _returns_in_check_mode(statement: Any) -> bool:
    block = next((c for c in statement.children if c.type == "statement_block"), None)
    if block is None or _condition(statement) != "$OsirisCheckMode":
        return False
    statements = [c for c in block.children if c.type == "statement_list"]
    last = statements[-1].children[-1] if statements and statements[-1].children else None
    return last is not None and _text(last).startswith("return")


def _function(node: Any) -> str:
    while node is not None:
        if node.type == "function_statement":
            name = next((c for c in node.children if c.type == "function_name"), None)
            return _text(name) if name is not None else "a function"
        node = node.parent
    return "the script"


def _text(node: Any) -> str:
    return (node.text or b"").decode("utf-8") if node is not None else ""


@pytest.mark.parametrize("runbook_id", sorted(RUNBOOKS))
def test_every_change_in_the_runbook_is_behind_the_check_mode(runbook_id: str) -> None:
    script = RUNBOOKS[runbook_id].script
    assert script is not None
    assert unguarded_changes(script.read_text()) == []


def test_the_shared_lib_changes_nothing_in_check_mode() -> None:
    (runbook,) = (r for r in RUNBOOKS.values() if r.id == "windows_llmnr_disable")
    assert runbook.script is not None
    lib = lib_path(runbook.script).read_text()
    unguarded = unguarded_changes(lib)
    assert unguarded, "the walk finds the changes of Set-OsirisSystemAccess"
    for change in unguarded:
        function = change.rsplit("(in ", 1)[1].rstrip(")").lower()
        assert function in LIB_EXEMPT, change


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("Set-Service -Name W -StartupType Automatic\n", ["line 1: set-service (in the script)"]),
        ("if (-not $OsirisCheckMode) { Set-Service -Name W }\n", []),
        ("if ($OsirisCheckMode) {\n    return\n}\nStart-Service -Name W\n", []),
        (
            "if ($OsirisCheckMode) {\n    'x'\n}\nStart-Service -Name W\n",
            ["line 4: start-service (in the script)"],
        ),
        (
            "$null = auditpol /get /subcategory:x\n$null = auditpol /set /subcategory:x\n",
            ["line 2: auditpol (in the script)"],
        ),
        ("function F {\n    $log.SaveChanges()\n}\n", ["line 2: .SaveChanges() (in F)"]),
        ("$x = New-Object -TypeName A\nSet-OsirisDword 'HKLM:\\A' 'B' 1\n", []),
        (
            "if (-not $OsirisCheckMode) { 1 } else { Stop-Service -Name W }\n",
            ["line 1: stop-service (in the script)"],
        ),
        ("if ($OsirisCheckMode) { 1 } else { Stop-Service -Name W }\n", []),
        ("if ($a -and -not $OsirisCheckMode) { Stop-Service -Name W }\n", []),
        (
            "if ($a -or -not $OsirisCheckMode) { Stop-Service -Name W }\n",
            ["line 1: stop-service (in the script)"],
        ),
    ],
)
def test_the_walk_finds_unguarded_changes(script: str, expected: list[str]) -> None:
    assert unguarded_changes(script) == expected


# -- Ansible runs the same script -----------------------------------------------------------


def test_ansible_assembles_the_script_osiris_sends(tmp_path: Path) -> None:
    """lib/assemble.yml, which every playbooks/windows/*.yml runs through
    lib/run_runbook.yml, run for real by ansible-runner on this machine; the assembled
    file is read back with slurp. The runbook follows two thresholds: their lines come
    from the play's vars, and from an extra var as a site's value would."""
    folder = tmp_path / "windows"
    shutil.copytree(shipped_dir("playbooks") / "windows", folder)
    runbook = RUNBOOKS["windows_lockout_policy_set"]
    assert set(runbook.spec.follows) == {"osiris_max_bad_count", "osiris_min_duration_minutes"}
    play_vars = load_yaml(runbook.playbook)[0][0]["vars"]
    play = {
        "name": "assemble",
        "hosts": "all",
        "gather_facts": False,
        "vars": play_vars,
        "tasks": [
            {"ansible.builtin.include_tasks": "lib/assemble.yml"},
            {
                "name": "read it back",
                "ansible.builtin.slurp": {"src": "{{ osiris_script.path }}"},
                "delegate_to": "localhost",
            },
            {
                "name": "remove it",
                "ansible.builtin.file": {"path": "{{ osiris_script.path }}", "state": "absent"},
                "delegate_to": "localhost",
                "check_mode": False,
            },
        ],
    }
    (folder / "assemble_test.yml").write_text(yaml.safe_dump([play], sort_keys=False))
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = GeneratedInventory({"all": {"hosts": {"win": host}}}, {})
    for check, site in ((False, {}), (True, {}), (False, {"osiris_max_bad_count": 3})):
        run = run_playbook(
            folder / "assemble_test.yml", inventory, forks=1, check=check, extravars=site
        )
        assert run.status == "successful", run.output_tail
        (read,) = [r for r in run.for_host("win") if "content" in r.result]
        assembled = base64.b64decode(read.result["content"]).decode("utf-8")
        assert assembled == runbook_script(runbook, check_mode=check, variables=site)
    assert "$osiris_max_bad_count = '3' | ConvertFrom-Json\n" in assembled
