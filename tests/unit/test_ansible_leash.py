"""A playbook run ends with osiris: on Ctrl-C, on SIGTERM, and on a ``kill -9`` that no
handler sees. Real ansible-playbook, real processes: a playbook on this machine
(``ansible_connection: local``) whose task sleeps, run by a small Python process that
stands in for osiris (it calls osiris.ansible.runner.run_playbook and nothing else)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from osiris.ansible.leash import RECORD, end_run
from osiris.ansible.runner import _environment, remove_run

REPO = Path(__file__).resolve().parents[2]
_CONTROLLER = """
import signal, sys
def stop(signum, frame):  # SIGTERM raises as Ctrl-C does, as the osiris CLI has it
    raise KeyboardInterrupt(signum)
signal.signal(signal.SIGTERM, stop)
from pathlib import Path
from osiris.ansible.inventory import GeneratedInventory
from osiris.ansible.runner import run_playbook
inventory = GeneratedInventory(
    {"all": {"hosts": {"here": {"ansible_connection": "local",
     "ansible_python_interpreter": sys.executable}}}}, {})
run = run_playbook(Path(sys.argv[1]), inventory, forks=1, private_dir=Path(sys.argv[2]))
print(run.status, flush=True)
"""


def processes_naming(token: str) -> list[int]:
    """Live processes (not zombies) whose command line holds ``token``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for(what, timeout: float = 60.0):
    """Poll ``what`` until it is truthy (a process appearing has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def gone_within(pid: int, seconds: float) -> bool:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], seconds)
        return bool(ready)
    finally:
        os.close(fd)


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A playbook whose one task sleeps for an unusual time (the test finds it by that)."""
    token = f"{4000 + os.getpid() % 1000}.{time.monotonic_ns() % 997}"
    playbook = tmp_path / "sleep.yml"
    task = {"name": "sleep", "ansible.builtin.command": f"sleep {token}"}
    playbook.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [task]}]))
    sleeping = f"sleep\0{token}\0"  # the task's own process (arguments end with NUL)
    yield playbook, sleeping
    for pid in processes_naming(sleeping):  # a failed test leaves nothing running
        os.kill(pid, signal.SIGKILL)


def start_controller(tmp_path: Path, playbook: Path) -> tuple[subprocess.Popen[str], Path]:
    private = tmp_path / "runs" / "run-1"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", _CONTROLLER, str(playbook), str(private)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, private


def test_kill_9_of_osiris_ends_the_playbook_and_everything_it_started(tmp_path, sleeper) -> None:
    playbook, sleeping = sleeper
    controller, private = start_controller(tmp_path, playbook)
    (task,) = wait_for(lambda: processes_naming(sleeping))
    playbooks = processes_naming(str(private))
    assert playbooks  # ansible-playbook and its workers name the private directory
    controller.kill()  # SIGKILL: no handler, no finally
    controller.wait()
    assert gone_within(task, 10), "the task kept running after osiris died"
    assert all(gone_within(pid, 10) for pid in playbooks)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_ends_the_run_and_removes_its_directory(tmp_path, sleeper, signum) -> None:
    playbook, sleeping = sleeper
    controller, private = start_controller(tmp_path, playbook)
    (task,) = wait_for(lambda: processes_naming(sleeping))
    controller.send_signal(signum)
    try:
        controller.wait(timeout=5)
    except subprocess.TimeoutExpired:
        controller.kill()
        raise AssertionError(f"still running 5 s after {signum.name}") from None
    assert gone_within(task, 1)
    assert processes_naming(str(private)) == []
    assert not private.exists()


def test_end_run_ends_a_recorded_run_and_what_names_its_directory(tmp_path: Path) -> None:
    """What the next heal does for a run a dead heal left (osiris.heal.reconcile): the
    recorded leash's whole process group, and an SSH master that left it, are ended."""
    private = tmp_path / "run"
    private.mkdir()
    group = subprocess.Popen(  # a stand-in for the leash and the playbook below it
        ["sh", "-c", "sleep 600 & exec sleep 602"], start_new_session=True
    )
    master = subprocess.Popen(  # a stand-in for an SSH control master: its own session
        [sys.executable, "-c", "import time; time.sleep(601)", f"-oControlPath={private}/cp/x"],
        start_new_session=True,
    )
    start = Path(f"/proc/{group.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    (private / RECORD).write_text(json.dumps({"pid": group.pid, "start": start}))
    members = wait_for(lambda: _sleepers(_group(group.pid)))
    ended = end_run(private)
    assert set(members) | {master.pid} <= set(ended)
    group.wait(timeout=5)
    master.wait(timeout=5)
    assert all(gone_within(pid, 1) for pid in members)
    assert end_run(private) == []  # nothing left: nothing to end


def test_a_record_whose_pid_was_reused_is_not_trusted(tmp_path: Path) -> None:
    private = tmp_path / "run"
    private.mkdir()
    bystander = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        record = {"pid": bystander.pid, "start": "1"}  # another start time: another process
        (private / RECORD).write_text(json.dumps(record))
        assert end_run(private) == []
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def _sleepers(pids: list[int]) -> list[int] | None:
    """``pids`` once both sleeps of the stand-in have started, else None."""
    started = [p for p in pids if Path(f"/proc/{p}/cmdline").read_bytes().startswith(b"sleep")]
    return pids if len(started) == 2 == len(pids) else None


def _group(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def test_a_playbook_run_leaves_the_signal_handlers_as_they_were(tmp_path: Path) -> None:
    """ansible-runner takes SIGINT and SIGTERM for itself unless it is given a cancel
    callback, and never gives them back: after one runbook, Ctrl-C would no longer stop
    a heal. Run in this process, so the handlers checked are the ones it ran under."""
    from osiris.ansible.inventory import GeneratedInventory
    from osiris.ansible.runner import run_playbook

    playbook = tmp_path / "true.yml"
    task = {"name": "nothing", "ansible.builtin.command": "true", "changed_when": False}
    playbook.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [task]}]))
    here = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    run = run_playbook(
        playbook, GeneratedInventory({"all": {"hosts": {"here": here}}}, {}), forks=1
    )
    assert run.status == "successful"
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_deep_run_directory_gets_a_short_ssh_control_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ssh refuses a control socket path over 108 bytes ("too long for Unix domain
    socket"): a run directory in a deep site home gets its sockets a short directory,
    which removing the run removes too."""

    shallow = Path(tempfile.mkdtemp(prefix="r-", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # as deep as the run: not used for sockets
    monkeypatch.setattr(tempfile, "tempdir", None)
    deep = tmp_path / ("d" * 60) / "home" / "runbooks" / "action-1"
    for private in (shallow, deep):
        private.mkdir(parents=True, exist_ok=True)
        control = Path(_environment(private)["ANSIBLE_SSH_CONTROL_PATH_DIR"])
        # what Ansible puts in it: "/<10 hex>.<16 random>"
        assert len(f"{control}/558aa1676f.mxXB4z1VUG7TWS5B") < 108
        assert control.parent == private or private == deep
        control.mkdir(exist_ok=True)
        remove_run(private)
        assert not private.exists() and not control.exists()
