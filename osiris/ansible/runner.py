"""Running a playbook through ansible-runner and reading back each host's task results.

The private data directory is created 0700, holds no secret (passwords reach
ansible-playbook through its environment only: ``suppress_env_files``), and is removed
afterwards, whatever happens. ansible-playbook runs on a leash (osiris.ansible.leash):
it dies with osiris, even after a ``kill -9``, and whatever of the run is still alive
when it ends (an interrupt, a timeout) is ended with it, before the directory goes.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import ansible_runner

from osiris.ansible import leash
from osiris.ansible.inventory import GeneratedInventory
from osiris.ansible.leash import end_run


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"


_EVENTS = {
    "runner_on_ok": Outcome.OK,
    "runner_on_failed": Outcome.FAILED,
    "runner_on_unreachable": Outcome.UNREACHABLE,
    "runner_on_skipped": Outcome.SKIPPED,
}


@dataclass(frozen=True)
class TaskResult:
    host: str
    task: str
    outcome: Outcome
    result: dict[str, Any]


@dataclass(frozen=True)
class PlaybookRun:
    status: str  # ansible-runner's: successful, failed, timeout, canceled
    rc: int
    results: tuple[TaskResult, ...]
    output_tail: str = ""  # the end of ansible-playbook's output, for failures without events
    output: str = field(default="", repr=False)  # all of it: a heal action's evidence artifact

    def for_host(self, host: str) -> list[TaskResult]:
        return [r for r in self.results if r.host == host]


def run_playbook(
    playbook: Path,
    inventory: GeneratedInventory,
    *,
    forks: int,
    timeout: float | None = None,
    extravars: dict[str, Any] | None = None,
    check: bool = False,
    diff: bool = False,
    files: dict[str, tuple[str, str]] | None = None,
    private_dir: Path | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> PlaybookRun:
    """Run ``playbook`` against the generated inventory.

    ``files`` maps an extra-var name to (file name, content): each file is written into
    the private data dir and its path passed as that extra var. ``private_dir``: where
    that directory is made (it must not exist), for a caller that must find the run
    again after a crash (osiris.heal.action); else a new temporary directory.
    ``cancelled``: asked a few times a second; True ends the run (status ``canceled``).
    Signals stay osiris's: a SIGINT or SIGTERM raises here as anywhere else.
    """
    playbook = playbook.resolve()
    private = _make_private(private_dir)
    try:
        inventory_path = private / "inventory.json"
        inventory_path.write_text(json.dumps(inventory.data))
        # read by ansible-runner from this file only (a ``settings`` argument is dropped)
        (private / "env").mkdir()
        (private / "env" / "settings").write_text(json.dumps({"pexpect_timeout": _POLL_SECONDS}))
        variables = dict(extravars or {})
        for variable, (file_name, content) in (files or {}).items():
            path = private / "files" / file_name
            path.parent.mkdir(exist_ok=True)
            path.write_text(content)
            variables[variable] = str(path)
        cmdline = " ".join(flag for flag, on in (("--check", check), ("--diff", diff)) if on)
        runner = ansible_runner.run(
            private_data_dir=str(private),
            project_dir=str(playbook.parent),
            playbook=str(playbook),
            inventory=str(inventory_path),
            extravars=variables,
            envvars={**_environment(private), **inventory.secret_env},
            cmdline=cmdline or None,
            forks=forks,
            timeout=int(timeout) if timeout else None,
            suppress_env_files=True,
            quiet=True,
            # without a callback of its own, ansible-runner takes SIGINT and SIGTERM for
            # itself, for good: osiris's handlers would be gone once a runbook had run
            cancel_callback=cancelled or _never,
        )
        results = tuple(
            TaskResult(
                host=event["event_data"]["host"],
                task=event["event_data"].get("task", ""),
                outcome=_EVENTS[event["event"]],
                result=event["event_data"].get("res", {}),
            )
            for event in runner.events
            if event.get("event") in _EVENTS
        )
        output = runner.stdout.read() if runner.stdout else ""
        return PlaybookRun(runner.status, runner.rc, results, output[-2000:].strip(), output)
    finally:
        remove_run(private)


_POLL_SECONDS = 0.25  # how often ansible-runner asks ``cancelled`` while it waits


def _never() -> bool:
    return False


def _make_private(where: Path | None) -> Path:
    if where is None:
        return Path(tempfile.mkdtemp(prefix="osiris-ansible-"))  # made 0700
    where.parent.mkdir(parents=True, exist_ok=True)
    where.mkdir(mode=0o700)
    os.chmod(where, 0o700)  # whatever the umask
    return where


def remove_run(private: Path) -> list[int]:
    """End what is left of the run in ``private`` and remove the directory; the pids
    ended. A second Ctrl-C arriving meanwhile is held until both are done: half of this
    would leave a playbook running or a directory behind."""
    held: BaseException | None = None
    ended: list[int] = []
    for _ in range(3):
        try:
            ended = end_run(private)
            pointer = private / _CONTROL_POINTER
            if pointer.is_file():  # its SSH sockets live in a short directory of their own
                shutil.rmtree(pointer.read_text().strip(), ignore_errors=True)
            shutil.rmtree(private, ignore_errors=True)
            break
        except KeyboardInterrupt as exc:
            held = exc
    if held is not None:
        raise held
    return ended


# An SSH control socket's path must fit a Unix socket address (108 bytes): Ansible adds
# "/<10 hex>.<16 random>" to its directory. A run directory deeper than this (a site home
# in a long path) gets a short one of its own in the temporary directory, named in the
# run directory so that removing the run (after a crash too) removes it.
_MAX_CONTROL_DIR = 72
_CONTROL_POINTER = "control-dir"


def _control_dir(private: Path) -> Path:
    inside = private / "cp"
    if len(str(inside)) <= _MAX_CONTROL_DIR:
        return inside
    # /tmp rather than $TMPDIR, which may be as deep as the run directory
    base = "/tmp" if os.path.isdir("/tmp") else None
    short = Path(tempfile.mkdtemp(prefix="osiris-cp-", dir=base))  # made 0700
    (private / _CONTROL_POINTER).write_text(f"{short}\n")
    return short


def _environment(private: Path) -> dict[str, str]:
    # the ansible-playbook installed beside this Python, even when its bin is not on PATH
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
    return {
        "PATH": leash.install(private, path),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_LOCAL_TEMP": str(private / "tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(_control_dir(private)),
        # one SSH operation per task instead of four (bench/runbooks.py); a site whose
        # sudo requires a tty turns it off by setting ANSIBLE_PIPELINING=False
        "ANSIBLE_PIPELINING": os.environ.get("ANSIBLE_PIPELINING", "True"),
        "ANSIBLE_INVENTORY_ENABLED": "yaml",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
    }
