"""`osiris heal` against real lab hosts: every outcome asserted on the host itself.

Test-only runbooks (a no-op that claims a fix, a slow one, one that cuts SSH) live in a
copy of playbooks/ pointed to by OSIRIS_PLAYBOOKS; test rules in the site's rules/.
"""

from __future__ import annotations

import base64
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from osiris.shipped import shipped_dir
from tests.integration.test_scan_lab import write_inventory
from tests.lab import drift
from tests.lab.hosts import LabHost, ssh_argv
from tests.lab.lab import LabState
from tests.lab.paths import INVENTORY_FILE

REPO = Path(__file__).resolve().parents[2]


def on_host(host: LabHost, command: str) -> str:
    result = subprocess.run(ssh_argv(host, command), capture_output=True, text=True, timeout=60)
    return result.stdout


def assert_sealed(osiris, home: Path, states: list[str]) -> None:
    """Each finished action (in order, in these states) has its signed bundle, and
    `osiris verify` finds the evidence whole, action rows included."""
    db = sqlite3.connect(home / "osiris.db")
    sealed = db.execute(
        "SELECT a.state FROM heal_actions a JOIN envelopes e ON e.action_id = a.id"
        " AND e.kind = 'heal' ORDER BY a.id"
    ).fetchall()
    assert [state for (state,) in sealed] == states
    result = osiris("verify", "--json", env={"OSIRIS_HOME": str(home)})
    assert result.returncode == 0, result.stdout + result.stderr
    checked = {p["name"]: p["checked"] for p in json.loads(result.stdout)["properties"]}
    assert checked["actions_match"] == len(states)


def test_drifted_host_is_healed_and_verified(osiris, fresh_host, lab_env, tmp_path):
    drift.apply(fresh_host, "ssh_root_password")
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    result = osiris(
        "heal",
        "-i",
        str(inventory),
        "--checks",
        "lnx_ssh_hardening",
        "--yes",
        "--json",
        env=lab_env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (action,) = json.loads(result.stdout)["actions"]
    assert (action["runbook_id"], action["outcome"], action["post_status"]) == (
        "linux_sshd_harden",
        "succeeded",
        "pass",
    )
    sshd = on_host(fresh_host, "sshd -T")
    assert "permitrootlogin without-password" in sshd and "passwordauthentication no" in sshd
    db = sqlite3.connect(tmp_path / "home" / "osiris.db")
    assert db.execute("SELECT state FROM incidents").fetchall() == [("resolved",)]
    assert db.execute("SELECT state, post_status FROM heal_actions").fetchall() == [
        ("succeeded", "pass")
    ]
    assert_sealed(osiris, tmp_path / "home", ["succeeded"])
    # nothing of the lockout guard is left on the host
    assert on_host(fresh_host, "ls /var/lib/osiris-guard 2>/dev/null | wc -l").strip() == "0"


def test_tightened_thresholds_are_what_the_runbooks_enforce(osiris, fresh_host, lab_env, tmp_path):
    """The site asks for passwords of 16 and 180 days of logs: the clean host (14; 98 days
    of rsyslog files, its journal capped at 35 days) now fails both, and the L1 fixes
    write 16 and 26 weekly rotations, not their playbooks' own 14 and 13. Each heal's
    signed statement holds what it ran with."""
    drift.apply(fresh_host, "journal_keeps_35")  # an uncapped journal would keep enough
    assert osiris("init").returncode == 0
    home = tmp_path / "home"
    config = yaml.safe_load((home / "config.yaml").read_text())
    config["thresholds"] = {
        "lnx_password_policy": {"min_length": 16},
        "lnx_log_retention": {"min_days": 180},
    }
    (home / "config.yaml").write_text(yaml.safe_dump(config))
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    checks = "lnx_password_policy,lnx_log_retention"
    result = osiris(
        "heal",
        "-i",
        str(inventory),
        "--checks",
        checks,
        "--yes",
        "--json",
        env=lab_env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    actions = {a["runbook_id"]: a for a in json.loads(result.stdout)["actions"]}
    assert {r: a["outcome"] for r, a in actions.items()} == {
        "linux_password_policy": "succeeded",
        "linux_log_retention": "succeeded",
    }
    assert "minlen=16" in on_host(fresh_host, "grep pam_pwquality /etc/pam.d/common-password")
    pwquality = on_host(fresh_host, "grep -h '^minlen' /etc/security/pwquality.conf")
    assert pwquality.split() == ["minlen", "=", "16"]
    rotate = on_host(fresh_host, "grep -E '^\\s*(rotate|weekly)' /etc/logrotate.d/rsyslog")
    assert {" ".join(line.split()) for line in rotate.splitlines()} == {"weekly", "rotate 26"}
    db = sqlite3.connect(home / "osiris.db")
    signed = [
        json.loads(base64.b64decode(json.loads(envelope)["payload"]))["predicate"]
        for (envelope,) in db.execute("SELECT envelope FROM envelopes WHERE kind = 'heal'")
    ]
    assert {p["action"]["runbook"]: p["runbook_vars"] for p in signed} == {
        "linux_password_policy": {"osiris_min_length": 16},
        "linux_log_retention": {"osiris_min_days": 180},
    }
    assert_sealed(osiris, home, ["succeeded", "succeeded"])


def test_dry_run_changes_nothing_and_shows_the_diff(osiris, fresh_host, lab_env, tmp_path):
    drift.apply(fresh_host, "ssh_root_password")
    digest = (
        "find /etc/ssh -type f -exec sha256sum {} + | sort | sha256sum;"
        " stat -c %a /etc/ssh/sshd_config"
    )
    before = on_host(fresh_host, digest)
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    result = osiris(
        "heal",
        "-i",
        str(inventory),
        "--checks",
        "lnx_ssh_hardening",
        "--dry-run",
        "--json",
        env=lab_env,
        timeout=300,
    )
    document = json.loads(result.stdout)
    (action,) = document["actions"]
    assert action["outcome"] == "dry_run"
    assert "+PermitRootLogin prohibit-password" in action["diff"] or (
        "PermitRootLogin prohibit-password" in action["diff"]
    )
    assert on_host(fresh_host, digest) == before
    assert result.returncode == 1  # drift remains
    db = sqlite3.connect(tmp_path / "home" / "osiris.db")
    assert db.execute("SELECT count(*) FROM heal_actions").fetchone() == (0,)


def test_plan_without_yes_changes_nothing(osiris, fresh_host, lab_env, tmp_path):
    drift.apply(fresh_host, "ssh_root_password")
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    result = osiris(
        "heal",
        "-i",
        str(inventory),
        "--checks",
        "lnx_ssh_hardening",
        "--json",
        env=lab_env,
        timeout=300,
    )
    assert result.returncode == 1
    assert "run again with --yes" in result.stderr
    assert json.loads(result.stdout)["confirmed"] is False
    assert "permitrootlogin yes" in on_host(fresh_host, "sshd -T")


# --- test-only runbooks and rules ----------------------------------------------------


def runbook(
    runbook_id: str,
    fixes: list[str],
    touches: list[str],
    tasks: list[dict],
    disruptive: bool = False,
) -> list[dict]:
    return [
        {
            "name": runbook_id,
            "hosts": "all",
            "gather_facts": False,
            "vars": {
                "osiris_runbook": {
                    "id": runbook_id,
                    "description": f"test runbook {runbook_id}",
                    "fixes": fixes,
                    "platform": "linux",
                    "disruptive": disruptive,
                    "timeout": 30,
                    "touches": touches,
                    "hipaa": ["164.312(b)"],
                }
            },
            "tasks": tasks,
        }
    ]


SLOW_RUNBOOK_DONE = "/var/lib/osiris-lab-slow-done"  # linux_test_slow got to its change
TEST_RUNBOOKS = {
    # claims to fix the firewall but changes nothing: the re-run check must still fail
    "linux_test_noop": runbook(
        "linux_test_noop",
        ["lnx_firewall"],
        ["firewall"],
        [{"name": "nothing", "ansible.builtin.command": "true", "changed_when": False}],
    ),
    # slow enough to be killed in the middle; its one change (SLOW_RUNBOOK_DONE) comes last
    "linux_test_slow": runbook(
        "linux_test_slow",
        ["lnx_firewall"],
        ["kernel"],
        [
            {"name": "wait", "ansible.builtin.command": "sleep 25"},
            {
                "name": "mark",
                "ansible.builtin.copy": {"dest": "/var/lib/osiris-lab-slow-done", "content": ""},
            },
        ],
    ),
    # a firewall that forgets SSH: osiris loses the host, the guard must put it back
    "linux_test_cut_ssh": runbook(
        "linux_test_cut_ssh",
        ["lnx_firewall"],
        ["firewall"],
        [
            {
                "name": "drop everything",
                "ansible.builtin.shell": "nft flush ruleset && nft add table inet filter"
                " && nft add chain inet filter input"
                " '{ type filter hook input priority 0; policy drop; }'",
            },
        ],
    ),
    # disruptive: must wait for approval
    "linux_test_approval": runbook(
        "linux_test_approval",
        ["lnx_usb_storage", "lnx_password_policy"],
        ["kernel"],
        [
            {
                "name": "block usb",
                "ansible.builtin.copy": {
                    "dest": "/etc/modprobe.d/50-lab-usb.conf",
                    "content": "install usb-storage /bin/false\n",
                },
            },
            {
                "name": "passwords of 14",
                "ansible.builtin.copy": {
                    "dest": "/etc/security/pwquality.conf.d/50-lab.conf",
                    "content": "minlen = 14\n",
                },
            },
        ],
        disruptive=True,
    ),
}


@pytest.fixture
def test_playbooks(tmp_path: Path) -> Path:
    directory = tmp_path / "playbooks"
    shutil.copytree(shipped_dir("playbooks"), directory)
    for runbook_id, play in TEST_RUNBOOKS.items():
        (directory / "linux" / f"{runbook_id}.yml").write_text(
            yaml.safe_dump(play, sort_keys=False)
        )
    return directory


def site_with_rules(osiris, tmp_path: Path, rules: list[dict], heal: dict | None = None) -> None:
    assert osiris("init").returncode == 0
    home = tmp_path / "home"
    (home / "rules").mkdir()
    (home / "rules" / "test.yaml").write_text(yaml.safe_dump({"rules": rules}))
    if heal:
        config = yaml.safe_load((home / "config.yaml").read_text())
        config["heal"] = heal
        (home / "config.yaml").write_text(yaml.safe_dump(config))


def rule(check: str, runbook_id: str, **extra: object) -> dict:
    return {
        "id": f"test_{runbook_id}",
        "description": "a test rule",
        "checks": [check],
        "runbook": runbook_id,
        "cooldown": "1s",
        "priority": 1000,  # before the built-in rule for the same check
        **extra,
    }


def test_a_runbook_that_does_not_fix_leaves_the_incident_failed(
    osiris, fresh_host, lab_env, tmp_path, test_playbooks
):
    site_with_rules(osiris, tmp_path, [rule("lnx_firewall", "linux_test_noop")])
    drift.apply(fresh_host, "firewall_off")
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    env = {**lab_env, "OSIRIS_PLAYBOOKS": str(test_playbooks)}
    result = osiris(
        "heal",
        "-i",
        str(inventory),
        "--checks",
        "lnx_firewall",
        "--yes",
        "--json",
        env=env,
        timeout=300,
    )
    (action,) = json.loads(result.stdout)["actions"]
    assert (action["outcome"], action["post_status"]) == ("failed", "fail")
    db = sqlite3.connect(tmp_path / "home" / "osiris.db")
    assert db.execute("SELECT state, attempts FROM incidents").fetchall() == [("failed", 1)]
    # the flywheel learnt a failure of this pattern, not a success
    assert db.execute(
        "SELECT runbook_id, occurrences, l1_successes, l1_failures FROM patterns"
    ).fetchall() == [("linux_test_noop", 1, 0, 1)]
    assert result.returncode == 1


def test_a_change_that_cuts_ssh_is_rolled_back(
    osiris, fresh_host, lab_env, tmp_path, test_playbooks
):
    site_with_rules(
        osiris, tmp_path, [rule("lnx_firewall", "linux_test_cut_ssh")], heal={"guard_seconds": 10}
    )
    drift.apply(fresh_host, "firewall_accept")
    before = on_host(fresh_host, "nft list ruleset")
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    env = {**lab_env, "OSIRIS_PLAYBOOKS": str(test_playbooks)}
    result = osiris(
        "heal",
        "-i",
        str(inventory),
        "--checks",
        "lnx_firewall",
        "--yes",
        "--json",
        env=env,
        timeout=300,
    )
    (action,) = json.loads(result.stdout)["actions"]
    assert action["outcome"] == "rolled_back", action["detail"]
    assert on_host(fresh_host, "nft list ruleset") == before  # the guard put it back
    assert "policy accept" in before
    assert_sealed(osiris, tmp_path / "home", ["rolled_back"])


def test_kill_9_mid_heal_is_reconciled_by_the_next_heal(
    osiris, fresh_host, lab_env, tmp_path, test_playbooks
):
    site_with_rules(osiris, tmp_path, [rule("lnx_firewall", "linux_test_slow")])
    drift.apply(fresh_host, "firewall_off")
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    env = {
        "OSIRIS_HOME": str(tmp_path / "home"),
        "OSIRIS_PLAYBOOKS": str(test_playbooks),
        **lab_env,
        "PATH": "/usr/bin:/bin",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "osiris",
            "heal",
            "-i",
            str(inventory),
            "--checks",
            "lnx_firewall",
            "--yes",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    db_path = tmp_path / "home" / "osiris.db"
    deadline = time.monotonic() + 120
    state = None
    while time.monotonic() < deadline and state != "running":
        time.sleep(0.2)
        row = sqlite3.connect(db_path).execute("SELECT state FROM heal_actions").fetchone()
        state = row[0] if row else None
    assert state == "running"
    import os

    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    drift.apply(fresh_host, "firewall_on")  # as if the runbook had fixed it
    result = osiris(
        "heal",
        "-i",
        str(inventory),
        "--checks",
        "lnx_firewall",
        "--yes",
        "--json",
        env={**lab_env, "OSIRIS_PLAYBOOKS": str(test_playbooks)},
        timeout=300,
    )
    document = json.loads(result.stdout)
    assert len(document["reconciled"]) == 1 and "check is pass" in document["reconciled"][0]
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT state, post_status FROM heal_actions").fetchall() == [
        ("reconciled", "pass")
    ]
    assert db.execute("SELECT state FROM incidents").fetchall() == [("resolved",)]
    assert_sealed(osiris, tmp_path / "home", ["reconciled"])


def test_a_flapping_drift_goes_to_a_person_and_is_suppressed(osiris, fresh_host, lab_env, tmp_path):
    assert osiris("init").returncode == 0
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})

    def heal_once() -> dict:
        # undo the fix the way a person would (the runbook's drop-in outranks the drift's)
        on_host(fresh_host, "rm -f /etc/ssh/sshd_config.d/40-osiris.conf")
        drift.apply(fresh_host, "ssh_root_password")
        result = osiris(
            "heal",
            "-i",
            str(inventory),
            "--checks",
            "lnx_ssh_hardening",
            "--yes",
            "--json",
            env=lab_env,
            timeout=300,
        )
        return json.loads(result.stdout)

    db = sqlite3.connect(tmp_path / "home" / "osiris.db")
    for _ in range(3):
        healed = heal_once()
        assert [a["outcome"] for a in healed["actions"]] == ["succeeded"], healed["plan"]
        db.execute("UPDATE heal_actions SET started_at = '2000-01-01T00:00:00.000+00:00'")
        db.commit()  # outside the rule's cooldown, not outside the 2 h flap window
    fourth = heal_once()
    assert fourth["actions"] == []
    (step,) = fourth["plan"]
    assert step["decision"] == "escalate" and step["reason"].startswith("flapping")
    assert db.execute(
        "SELECT state, suppressed FROM incidents WHERE state != 'resolved'"
    ).fetchall() == [("escalated", 1)]
    fifth = heal_once()
    assert fifth["plan"][0]["decision"] == "suppressed" and fifth["actions"] == []
    assert "permitrootlogin yes" in on_host(fresh_host, "sshd -T")


def test_exceptions_approvals_and_the_circuit_breaker(
    osiris, fresh_host, lab_env, tmp_path, test_playbooks
):
    site_with_rules(
        osiris,
        tmp_path,
        [rule("lnx_password_policy", "linux_test_approval")],
        heal={"breaker_actions": 1},
    )
    drift.apply(fresh_host, "pwquality_8", "ssh_root_password")
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    env = {**lab_env, "OSIRIS_PLAYBOOKS": str(test_playbooks)}
    args = (
        "heal",
        "-i",
        str(inventory),
        "--checks",
        "lnx_password_policy,lnx_ssh_hardening",
        "--yes",
        "--json",
    )
    added = osiris(
        "exception",
        "add",
        "--check",
        "lnx_ssh_hardening",
        "--host",
        fresh_host.name,
        "--reason",
        "vendor needs root password until March",
        "--approver",
        "Dr. Who",
        "--expires",
        "2099-01-01",
    )
    assert added.returncode == 0, added.stderr
    first = json.loads(osiris(*args, env=env, timeout=300).stdout)
    decisions = {s["check_id"]: s["decision"] for s in first["plan"]}
    assert decisions == {
        "lnx_ssh_hardening": "excepted",
        "lnx_password_policy": "awaiting_approval",
    }
    assert first["actions"] == []
    (pending,) = json.loads(osiris("approvals", "list", "--json").stdout)
    assert osiris("approvals", "approve", str(pending["id"]), "--by", "Dr. Who").returncode == 0
    assert osiris("exception", "revoke", "1").returncode == 0
    second = json.loads(osiris(*args, env=env, timeout=300).stdout)
    decisions = {s["check_id"]: s["decision"] for s in second["plan"]}
    # one action per host allowed by the breaker: passwords (approved) run, ssh waits
    assert sorted(decisions.values()) == ["deferred", "heal"]
    deferred = next(s for s in second["plan"] if s["decision"] == "deferred")
    assert deferred["reason"].startswith("circuit breaker")
    assert [a["outcome"] for a in second["actions"]] == ["succeeded"]
    assert on_host(fresh_host, "cat /etc/security/pwquality.conf.d/50-lab.conf") == "minlen = 14\n"


def test_two_heals_on_one_site_cannot_run_at_once(osiris, tmp_path):
    assert osiris("init").returncode == 0
    lock = (tmp_path / "home" / "heal.lock").open("a+")
    import fcntl

    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    result = osiris("heal", "--checks", "lnx_disk_space", "--yes")
    assert result.returncode == 2
    assert "another heal is running on this site" in result.stderr


def test_lab_state_is_left_clean(lab: LabState) -> None:
    assert lab.hosts  # the session lab survived every heal above


def test_a_windows_twin_is_healed_over_winrm(osiris, lab: LabState, lab_env, tmp_path):
    """The runbook's PowerShell goes over WinRM to the twin (a stand-in for Windows);
    the twin's state shows the change and the re-run check passes."""
    from tests.lab.winrm_twin.drifts import apply_drift
    from tests.lab.winrm_twin.state import WindowsState, now_utc

    twin = lab.twins[0]
    state_path = Path(twin.state_path)
    original = state_path.read_text()
    try:
        with WindowsState.update(state_path) as state:
            apply_drift(state, "firewall_public_off", now=now_utc())
        windows = yaml.safe_load(INVENTORY_FILE.read_text())["all"]["children"]["windows"]
        inventory = tmp_path / "windows.yml"
        host = windows["hosts"][twin.name]
        inventory.write_text(
            yaml.safe_dump({"windows": {"vars": windows["vars"], "hosts": {twin.name: host}}})
        )
        result = osiris(
            "heal",
            "-i",
            str(inventory),
            "--checks",
            "win_firewall",
            "--yes",
            "--json",
            env=lab_env,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        (action,) = json.loads(result.stdout)["actions"]
        assert (action["runbook_id"], action["outcome"], action["post_status"]) == (
            "windows_firewall_enable",
            "succeeded",
            "pass",
        )
        assert_sealed(osiris, tmp_path / "home", ["succeeded"])
        healed = WindowsState.load(state_path)
        public = next(p for p in healed.firewall_profiles if p.Name == "Public")
        assert public.Enabled
        # the lockout guard the prelude armed was disarmed once osiris was back
        assert healed.osiris_guards == []
        assert not [t for t in healed.scheduled_tasks if t.TaskPath == "\\Osiris\\"]
    finally:
        state_path.write_text(original)


def windows_inventory(tmp_path: Path, twin_name: str) -> Path:
    """An inventory of one lab twin, as the lab's inventory describes it."""
    windows = yaml.safe_load(INVENTORY_FILE.read_text())["all"]["children"]["windows"]
    inventory = tmp_path / "windows.yml"
    host = windows["hosts"][twin_name]
    inventory.write_text(
        yaml.safe_dump({"windows": {"vars": windows["vars"], "hosts": {twin_name: host}}})
    )
    return inventory


def test_a_windows_dry_run_shows_the_diff_and_changes_nothing(
    osiris, lab: LabState, lab_env, tmp_path
):
    """The runbook's check mode over WinRM: the diff names the change, the twin's state
    file is byte for byte the same, and no action is journalled."""
    from tests.lab.winrm_twin.drifts import apply_drift
    from tests.lab.winrm_twin.state import WindowsState, now_utc

    twin = lab.twins[0]
    state_path = Path(twin.state_path)
    original = state_path.read_text()
    try:
        with WindowsState.update(state_path) as state:
            apply_drift(state, "firewall_public_off", now=now_utc())
        before = state_path.read_bytes()
        result = osiris(
            "heal",
            "-i",
            str(windows_inventory(tmp_path, twin.name)),
            "--checks",
            "win_firewall",
            "--dry-run",
            "--json",
            env=lab_env,
            timeout=300,
        )
        assert result.returncode == 1, result.stdout + result.stderr  # the drift remains
        (action,) = json.loads(result.stdout)["actions"]
        assert (action["runbook_id"], action["outcome"]) == ("windows_firewall_enable", "dry_run")
        assert action["diff"] == "firewall profile Public Enabled False -> True"
        assert state_path.read_bytes() == before
        db = sqlite3.connect(tmp_path / "home" / "osiris.db")
        assert db.execute("SELECT count(*) FROM heal_actions").fetchone() == (0,)
    finally:
        state_path.write_text(original)


def test_a_change_that_cuts_winrm_is_rolled_back_by_the_guard(
    osiris, lab: LabState, lab_env, tmp_path
):
    """On this twin WinRM gets in only while the Public profile is off: turning the
    firewall on cuts osiris off. The task the runbook's prelude armed puts the firewall
    back once its time is up (the shipped runbook with a 5 s timeout, guard_seconds 10);
    osiris finds the host again, ends the action rolled_back and clears the task."""
    from tests.lab.winrm_twin.drifts import apply_drift
    from tests.lab.winrm_twin.state import WindowsState, now_utc

    twin = lab.twins[1]
    state_path = Path(twin.state_path)
    original = state_path.read_text()
    playbooks = tmp_path / "playbooks"
    shutil.copytree(shipped_dir("playbooks"), playbooks)
    wrapper = playbooks / "windows" / "windows_firewall_enable.yml"
    wrapper.write_text(wrapper.read_text().replace("timeout: 120", "timeout: 5"))
    try:
        with WindowsState.update(state_path) as state:
            apply_drift(state, "winrm_needs_firewall_off", now=now_utc())
        drifted = WindowsState.load(state_path)
        site_with_rules(osiris, tmp_path, [], heal={"guard_seconds": 10})
        result = osiris(
            "heal",
            "-i",
            str(windows_inventory(tmp_path, twin.name)),
            "--checks",
            "win_firewall",
            "--yes",
            "--json",
            env={**lab_env, "OSIRIS_PLAYBOOKS": str(playbooks)},
            timeout=300,
        )
        (action,) = json.loads(result.stdout)["actions"]
        assert (action["runbook_id"], action["outcome"]) == (
            "windows_firewall_enable",
            "rolled_back",
        ), action["detail"]
        assert "the guard restored it" in action["detail"]
        after = WindowsState.load(state_path)
        assert after == drifted  # the firewall as it was, and no guard task left
        db = sqlite3.connect(tmp_path / "home" / "osiris.db")
        assert db.execute("SELECT state FROM heal_actions").fetchall() == [("rolled_back",)]
    finally:
        state_path.write_text(original)
