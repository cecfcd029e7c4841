"""`osiris heal` of this machine seals every finished action; `osiris verify` and the
auditor kit check those bundles.

The test check reads a state file in the test's directory; the test runbooks are real
Ansible playbooks that ansible-runner runs over the local connection: one rewrites the
file (and prints an e-mail address, which must not reach the evidence), one is slow
enough to be killed with SIGKILL in the middle, so that the next heal settles it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.test_scan_local import make_catalog

EMAIL = "jdoe@clinic.example"
BAD, GOOD = '{"state": "bad"}\n', '{"state": "good"}\n'


def runbook(runbook_id: str, state: Path, *, wait: int = 0) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = [
        {"name": "say for whom", "ansible.builtin.debug": {"msg": f"fixing for {EMAIL}"}},
        {"name": "fix", "ansible.builtin.copy": {"dest": str(state), "content": GOOD}},
    ]
    if wait:
        tasks.insert(0, {"name": "wait", "ansible.builtin.command": f"sleep {wait}"})
    spec = {
        "id": runbook_id,
        "description": f"test runbook {runbook_id}",
        "fixes": ["lnx_t"],
        "platform": "linux",
        "timeout": 120,
        "touches": ["files"],
        "hipaa": ["164.312(b)"],
    }
    return [
        {
            "name": runbook_id,
            "hosts": "all",
            "gather_facts": False,
            "vars": {"osiris_runbook": spec},
            "tasks": tasks,
        }
    ]


def make_site(root: Path, *, wait: int = 0) -> dict[str, str]:
    """A site whose one rule fixes lnx_t (now failing) with the test runbook; returns
    the environment for `osiris` commands on it."""
    state = root / "state.json"
    state.write_text(BAD)
    catalog = make_catalog(root / "catalog", {"lnx_t": f"cat {state}"})
    playbooks = root / "playbooks" / "linux"
    playbooks.mkdir(parents=True)
    play = runbook("linux_test_fix", state, wait=wait)
    (playbooks / "linux_test_fix.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")},
        "OSIRIS_HOME": str(root / "home"),
        "OSIRIS_CATALOG": str(catalog),
        "OSIRIS_PLAYBOOKS": str(root / "playbooks"),
        # the Python running these tests: a pyenv shim's python3 may name a missing one
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }
    assert osiris(env, "init", "--site-id", "clinic-h").returncode == 0
    rule = {
        "id": "test_fix",
        "description": "a test rule",
        "checks": ["lnx_t"],
        "runbook": "linux_test_fix",
        "cooldown": "1s",
    }
    (root / "home" / "rules").mkdir()
    (root / "home" / "rules" / "test.yaml").write_text(yaml.safe_dump({"rules": [rule]}))
    return env


def osiris(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "osiris", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=Path(env["OSIRIS_HOME"]).parent,
    )


def verify(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    result = osiris(env, "verify", "--json")
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def rows(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(Path(env["OSIRIS_HOME"]) / "osiris.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def statement(text: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(json.loads(text)["payload"]))


def prop(report: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [p for p in report["properties"] if p["name"] == name]
    return found


@pytest.fixture(scope="module")
def healed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A site after one heal that fixed lnx_t on this machine."""
    root = tmp_path_factory.mktemp("healed")
    env = make_site(root)
    result = osiris(env, "heal", "--yes", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    (action,) = json.loads(result.stdout)["actions"]
    assert (action["outcome"], action["post_status"]) == ("succeeded", "pass")
    assert (root / "state.json").read_text() == GOOD
    return root, env


@pytest.fixture
def site(healed: tuple[Path, dict[str, str]], tmp_path: Path) -> dict[str, str]:
    """A copy of the healed site to tamper with."""
    shutil.copytree(healed[0] / "home", tmp_path / "home")
    return {**healed[1], "OSIRIS_HOME": str(tmp_path / "home")}


def tamper(env: dict[str, str], *statements: str) -> None:
    conn = sqlite3.connect(Path(env["OSIRIS_HOME"]) / "osiris.db")
    with conn:
        conn.execute("DROP TRIGGER IF EXISTS envelopes_no_delete")
        for sql in statements:
            conn.execute(sql)
    conn.close()


def test_a_heal_seals_its_action_and_verify_checks_it(healed) -> None:
    _, env = healed
    (action_id, state) = rows(env, "SELECT id, state FROM heal_actions")[0]
    ((env_id, run_id, text),) = rows(
        env, "SELECT id, run_id, envelope FROM envelopes WHERE kind = 'heal'"
    )
    assert rows(env, f"SELECT action_id FROM envelopes WHERE id = {env_id}") == [(action_id,)]
    predicate = statement(text)["predicate"]
    assert predicate["action"]["id"] == action_id and predicate["action"]["state"] == state
    assert (predicate["run"], predicate["action"]["pre_status"]) == (run_id, "fail")
    assert len(predicate["pattern"]) == 32
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement(text)["subject"]}
    assert set(subjects) == {"runbook-output", "recheck-output"}
    (output,) = rows(
        env, f"SELECT content FROM artifacts WHERE sha256 = '{subjects['runbook-output']}'"
    )
    assert b"fixing for [email]" in output[0] and EMAIL.encode() not in output[0]
    code, report = verify(env)
    assert code == 0 and report["failed"] == []
    assert prop(report, "actions_match")["checked"] == 1
    assert prop(report, "completeness")["checked"] == 2  # the scanned host, the action
    # the heal signed a checkpoint after its actions: every leaf is covered
    assert report["checkpoint_size"] == report["log"]["size"] == 2


def test_an_edited_action_row_fails_verify_naming_the_action(site) -> None:
    tamper(site, "UPDATE heal_actions SET state = 'failed', post_status = 'fail'")
    code, report = verify(site)
    assert code == 1 and report["failed"] == ["actions_match"]
    (failure,) = prop(report, "actions_match")["failures"]
    assert failure["subject"].startswith("action 1 (envelope 2, host ")
    assert failure["detail"].endswith("(post_status, state)")
    human = osiris(site, "verify")
    assert human.returncode == 1 and "✗ actions_match" in human.stdout
    assert "verify: FAILED: actions_match" in human.stdout


def test_a_deleted_heal_bundle_fails_verify_naming_the_action(site) -> None:
    tamper(site, "DELETE FROM envelopes WHERE kind = 'heal'")
    code, report = verify(site)
    assert code == 1 and "completeness" in report["failed"]
    found = [f"{f['subject']}: {f['detail']}" for f in prop(report, "completeness")["failures"]]
    assert any(
        f.startswith("action 1 (host ") and f.endswith("is succeeded but has no signed bundle")
        for f in found
    ), found


def test_the_kit_carries_heal_bundles_and_its_verifier_checks_them(healed, tmp_path) -> None:
    _, env = healed
    out = tmp_path / "kit.zip"
    result = osiris(env, "evidence", "export", str(out))
    assert result.returncode == 0, result.stderr
    kit = tmp_path / "kit"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(kit)
    lines = [json.loads(line) for line in (kit / "envelopes.jsonl").read_text().splitlines()]
    (heal,) = [line for line in lines if line["kind"] == "heal"]
    assert heal["action"] == 1 and "action" not in lines[0]
    for subject in statement(json.dumps(heal["envelope"]))["subject"]:
        assert (kit / "artifacts" / subject["digest"]["sha256"]).is_file()
    checked = subprocess.run(
        [sys.executable, str(kit / "verify.py"), str(kit)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "RESULT: the kit verifies" in checked.stdout
    heal["action"] = 7  # the line now claims the bundle is another action's evidence
    (kit / "envelopes.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    checked = subprocess.run(
        [sys.executable, str(kit / "verify.py"), str(kit)], capture_output=True, text=True
    )
    assert checked.returncode == 1
    assert f"FAIL statement: envelope {heal['id']} (action 7): " in checked.stdout


def test_an_action_killed_mid_run_is_sealed_when_the_next_heal_settles_it(tmp_path) -> None:
    env = make_site(tmp_path, wait=60)
    process = subprocess.Popen(
        [sys.executable, "-m", "osiris", "heal", "--yes"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (tmp_path / "home" / "osiris.db").exists() and rows(
                env, "SELECT 1 FROM heal_actions WHERE state = 'running'"
            ):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the heal never started its action")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert rows(env, "SELECT count(*) FROM envelopes WHERE kind = 'heal'") == [(0,)]
    code, report = verify(env)
    assert code == 0, report["failed"]  # an unfinished action needs no bundle yet
    (tmp_path / "state.json").write_text(GOOD)  # as if the runbook had got that far
    result = osiris(env, "heal", "--yes", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    (note,) = json.loads(result.stdout)["reconciled"]
    assert "check is pass" in note
    ((text,),) = rows(env, "SELECT envelope FROM envelopes WHERE kind = 'heal'")
    signed = statement(text)
    assert signed["predicate"]["action"]["state"] == "reconciled"
    assert signed["predicate"]["action"]["post_status"] == "pass"
    assert [s["name"] for s in signed["subject"]] == ["recheck-output"]
    code, report = verify(env)
    assert code == 0, report["failed"]
    assert prop(report, "actions_match")["checked"] == 1
