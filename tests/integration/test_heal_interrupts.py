"""`osiris heal` stopped by SIGINT or SIGTERM at many moments, and killed with SIGKILL
while a runbook runs, against a real lab host.

An interrupt must stop the command within seconds with exit 130 and the JSON document
saying ``"status": "interrupted"``, end every child (the Ansible run and all below it),
leave nothing in TMPDIR or in the site's runbook directories, and leave no run marked
``running``. A ``kill -9`` cannot be caught: the runbook must still die with osiris, so
that when the next heal settles the action by re-checking, nothing is left to change
the host after it (the evidence would say the opposite of what happened).
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import yaml

from tests.integration.test_heal import (  # noqa: F401 (test_playbooks: a fixture)
    SLOW_RUNBOOK_DONE,
    on_host,
    rule,
    test_playbooks,
)
from tests.integration.test_scan_lab import write_inventory
from tests.lab import drift
from tests.lab.hosts import LabHost

_NOT_INHERITED = ("OSIRIS_CATALOG", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
STARTED: list[subprocess.Popen[str]] = []  # every heal a test started: none outlives it


@pytest.fixture(autouse=True)
def no_heal_left() -> Iterator[None]:
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.communicate()


@dataclass
class Heal:
    """One `osiris heal --yes --json` running in the background, with its own site."""

    home: Path
    tmpdir: Path
    playbooks: Path
    process: subprocess.Popen[str]

    def runs(self) -> list[tuple[int, str]]:
        path = self.home / "osiris.db"
        if not path.exists():
            return []
        try:
            return sqlite3.connect(path).execute("SELECT id, status FROM runs").fetchall()
        except sqlite3.OperationalError:
            return []  # the schema is being made

    def runbook_processes(self) -> list[int]:
        """ansible-playbook and its workers, the leash: all name the playbook."""
        return processes_naming(str(self.playbooks / "linux" / "linux_test_slow.yml"))

    def action_dirs(self) -> list[str]:
        runbooks = self.home / "runbooks"
        return sorted(p.name for p in runbooks.iterdir()) if runbooks.exists() else []


def processes_naming(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if token.encode() in cmdline and state != "Z":
                found.append(int(entry.name))
    return found


def gone_within(pid: int, seconds: float) -> bool:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], seconds)[0])
    finally:
        os.close(fd)


def wait_until(what: Callable[[], object], timeout: float = 120.0) -> None:
    """Poll ``what`` (a row or a process appearing: no event to wait on) until truthy."""
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def site(tmp_path: Path, name: str, rules: list[dict]) -> Path:
    home = tmp_path / name / "home"
    home.parent.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "osiris", "init"],
        env={**os.environ, "OSIRIS_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (home / "rules").mkdir()
    (home / "rules" / "test.yaml").write_text(yaml.safe_dump({"rules": rules}))
    return home


def start_heal(home: Path, inventory: Path, playbooks: Path, lab_env: dict[str, str]) -> Heal:
    tmpdir = home.parent / "tmp"
    tmpdir.mkdir()
    inherited = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env = {
        **inherited,
        **lab_env,
        "OSIRIS_HOME": str(home),
        "OSIRIS_PLAYBOOKS": str(playbooks),
        "TMPDIR": str(tmpdir),
    }
    args = ["heal", "-i", str(inventory), "--checks", "lnx_firewall", "--yes", "--json"]
    process = subprocess.Popen(
        [sys.executable, "-m", "osiris", *args],
        env=env,
        cwd=home.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    STARTED.append(process)
    return Heal(home, tmpdir, playbooks, process)


def interrupt(heal: Heal, signum: signal.Signals) -> tuple[float, dict, str]:
    """Send ``signum``; how long the heal took to exit, its document and stderr."""
    heal.process.send_signal(signum)
    sent = time.monotonic()
    try:
        stdout, stderr = heal.process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        heal.process.kill()
        heal.process.communicate()
        raise AssertionError(f"osiris heal still running 30 s after {signum.name}") from None
    took = time.monotonic() - sent
    assert heal.process.returncode == 130, stdout + stderr
    return took, json.loads(stdout), stderr


def left_nothing(heal: Heal) -> None:
    """No child alive, no temporary file, no runbook directory, no run left running."""
    assert all(gone_within(pid, 2) for pid in heal.runbook_processes())
    assert heal.runbook_processes() == []
    assert list(heal.tmpdir.iterdir()) == []
    assert heal.action_dirs() == []
    assert [status for _, status in heal.runs() if status == "running"] == []


def locked(heal: Heal) -> bool:
    """The heal holds the site's heal lock (its pid is written there)."""
    try:
        return (heal.home / "heal.lock").read_text().strip() == str(heal.process.pid)
    except OSError:
        return False


def one_second_into_the_scan(heal: Heal) -> bool:
    if not heal.runs():
        return False
    time.sleep(1.0)
    return True


# when to stop the heal: from its start to its runbook, one moment each
MOMENTS: dict[str, Callable[[Heal], object]] = {
    "as it takes the site's heal lock": locked,
    "as its scan starts": lambda h: h.runs(),
    "a second into its scan": one_second_into_the_scan,
    "as its scan ends": lambda h: [r for r in h.runs() if r[1] == "complete"],
    "while the runbook runs": lambda h: h.runbook_processes(),
}
SLOW_ONCE = rule("lnx_firewall", "linux_test_slow", max_retries=1)  # then a person


def _reached_or_ended(heal: Heal, reached: Callable[[Heal], object]) -> bool:
    return bool(reached(heal)) or heal.process.poll() is not None


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_at_any_moment_stops_the_heal_and_leaves_nothing(
    fresh_host: LabHost,
    lab_env,
    tmp_path: Path,
    test_playbooks: Path,  # noqa: F811 (the fixture imported above)
    signum,
) -> None:
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    drift.apply(fresh_host, "firewall_off")
    took = {}
    for number, (moment, reached) in enumerate(MOMENTS.items()):
        home = site(tmp_path, f"at{number}", [SLOW_ONCE])
        heal = start_heal(home, inventory, test_playbooks, lab_env)
        wait_until(partial(_reached_or_ended, heal, reached))
        assert heal.process.poll() is None, f"{moment}: the heal ended before the signal"
        took[moment], document, stderr = interrupt(heal, signum)
        assert document["status"] == "interrupted", (moment, document)
        assert "interrupted" in stderr
        left_nothing(heal)
    # the runbook never got to its change: every heal was stopped before
    assert not runbook_got_to_its_change(fresh_host)
    slowest = max(took.values())
    assert slowest < 5, took  # "within a second or two", on a loaded two-core machine


def test_a_heal_stopped_while_a_runbook_runs_is_settled_by_the_next_one(
    fresh_host: LabHost,
    lab_env,
    tmp_path: Path,
    test_playbooks: Path,  # noqa: F811
) -> None:
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    drift.apply(fresh_host, "firewall_off")
    home = site(tmp_path, "a", [SLOW_ONCE])
    heal = start_heal(home, inventory, test_playbooks, lab_env)
    wait_until(heal.runbook_processes)
    _, document, _ = interrupt(heal, signal.SIGTERM)
    left_nothing(heal)
    assert document["actions"] == []  # it did not finish
    db = sqlite3.connect(home / "osiris.db")
    assert db.execute("SELECT state FROM heal_actions").fetchall() == [("running",)]
    again = start_heal_and_wait(home, inventory, test_playbooks, lab_env)
    assert again["status"] == "complete"
    (note,) = again["reconciled"]
    assert "check is fail" in note and "ended" not in note  # nothing was left to end
    assert again["actions"] == []  # its one attempt is used: a person looks
    assert db.execute("SELECT state, post_status FROM heal_actions ORDER BY id").fetchall()[0] == (
        "reconciled",
        "fail",
    )


def test_kill_9_mid_runbook_leaves_no_runbook_to_change_the_host_later(
    fresh_host: LabHost,
    lab_env,
    tmp_path: Path,
    test_playbooks: Path,  # noqa: F811
) -> None:
    """The kill reaches osiris only (not its process group, as an OOM kill or a crash
    would): the runbook must die with it, not fix the host after the next heal has
    settled the action as failed."""
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    drift.apply(fresh_host, "firewall_off")
    home = site(tmp_path, "k", [SLOW_ONCE])
    heal = start_heal(home, inventory, test_playbooks, lab_env)
    wait_until(lambda: on_host(fresh_host, "pgrep -xf 'sleep 25'"))  # its task runs there
    children = heal.runbook_processes()
    heal.process.kill()
    heal.process.communicate()
    still = [pid for pid in children if not gone_within(pid, 10)]
    assert still == [], "the runbook outlived osiris"
    assert heal.runbook_processes() == []
    assert heal.action_dirs() == ["action-1"]  # the record a dead heal leaves
    after = start_heal_and_wait(home, inventory, test_playbooks, lab_env)
    (note,) = after["reconciled"]
    assert "check is fail" in note and "ended" not in note  # the leash had ended it all
    assert after["actions"] == []
    assert heal.action_dirs() == []
    db = sqlite3.connect(home / "osiris.db")
    assert db.execute("SELECT state, post_status FROM heal_actions").fetchall() == [
        ("reconciled", "fail")
    ]
    assert not runbook_got_to_its_change(fresh_host)


def runbook_got_to_its_change(host: LabHost) -> bool:
    return on_host(host, f"test -e {SLOW_RUNBOOK_DONE} && echo yes || echo no") == "yes\n"


def start_heal_and_wait(
    home: Path, inventory: Path, playbooks: Path, lab_env: dict[str, str]
) -> dict:
    inherited = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env = {**inherited, **lab_env, "OSIRIS_HOME": str(home), "OSIRIS_PLAYBOOKS": str(playbooks)}
    args = ["heal", "-i", str(inventory), "--checks", "lnx_firewall", "--yes", "--json"]
    result = subprocess.run(
        [sys.executable, "-m", "osiris", *args],
        env=env,
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.stdout, result.stderr
    return json.loads(result.stdout)
