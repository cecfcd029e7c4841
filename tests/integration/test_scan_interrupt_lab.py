"""Signals during an SSH scan of a lab host: the probe stops on the host, not only here.

The catalog is the one of tests/cli/test_scan_interrupt.py (five 0.3 s steps, then a
probe that orphans a `sleep 60` and blocks on another); the first step and the stuck
probe leave a file in /run on the host to say they began. On the host, "nothing left"
is no `sleep 60` and no supervisor (`osiris-probe`) running, and no work directory
(`/tmp/osiris.*`) left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.test_scan_interrupt import HANG, not_begun, runs, slow_catalog
from tests.integration.test_scan_lab import write_inventory
from tests.lab.hosts import LabHost, ssh_argv
from tests.osiris_cli import _NOT_INHERITED as NOT_INHERITED

# [-] keeps this very command line from matching its own pattern
ANNOUNCE = "touch /run/osiris-test-{name}"
_LEFTOVERS = (
    "for p in /proc/[0-9]*; do c=$(tr '\\0' ' ' < $p/cmdline 2>/dev/null);"
    " case $c in 'sleep 60 '|*osiris[-]probe*|*osiris[_]bundle*) echo \"$c\";; esac; done;"
    " ls -d /tmp/osiris.* 2>/dev/null; true"
)


def leftovers(host: LabHost) -> list[str]:
    """The stuck probe's processes, supervisors and work directories still on ``host``."""
    result = subprocess.run(
        ssh_argv(host, _LEFTOVERS), capture_output=True, text=True, timeout=30, check=True
    )
    return result.stdout.splitlines()


def began(host: LabHost, name: str, process: subprocess.Popen[str]) -> None:
    """Until the probe ``name`` has announced itself on ``host`` (each look is one SSH
    round trip); then forget it, for the next case."""
    deadline = time.monotonic() + HANG
    look = f"test -e /run/osiris-test-{name} && rm -f /run/osiris-test-*"
    while time.monotonic() < deadline and process.poll() is None:
        if subprocess.run(ssh_argv(host, look), capture_output=True, timeout=30).returncode == 0:
            return
    raise AssertionError(f"{name} never began on the host")


def start_scan(
    tmp_path: Path, host: LabHost, lab_env: dict[str, str], *engine: str
) -> tuple[subprocess.Popen[str], Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    catalog = slow_catalog(tmp_path / "catalog", ANNOUNCE)
    inventory = write_inventory(tmp_path, {host.name: host.address})
    home = tmp_path / "home"
    inherited = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env = {**inherited, **lab_env, "OSIRIS_HOME": str(home), "OSIRIS_CATALOG": str(catalog)}
    process = subprocess.Popen(
        [sys.executable, "-m", "osiris", "scan", "--json", "-i", str(inventory), *engine],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return process, home


def assert_interrupted(process: subprocess.Popen[str], home: Path, out: str) -> None:
    assert process.returncode == 130
    assert runs(home) == [(1, "interrupted", 1)]
    document = json.loads(out)
    assert (document["status"], document["exit_code"], document["hosts"]) == (
        "interrupted",
        130,
        [],
    )


def test_signals_at_many_moments_stop_the_probe_on_the_host(
    fresh_host: LabHost, lab_env: dict[str, str], tmp_path: Path
) -> None:
    """Two moments counted from the start, six from the first step's start."""
    moments = [(False, 0.2), (False, 0.8)]
    moments += [(True, offset) for offset in (0.0, 0.25, 0.5, 0.9, 1.3, 2.0)]
    for index, (after_first_step, delay) in enumerate(moments):
        signum = signal.SIGINT if index % 2 == 0 else signal.SIGTERM
        process, home = start_scan(tmp_path / f"at{index}", fresh_host, lab_env)
        if after_first_step:
            began(fresh_host, "step0", process)
        time.sleep(delay)  # the moment under test, not a wait for something
        process.send_signal(signum)
        out, err = process.communicate(timeout=HANG)
        where = f"{signum.name} at {delay:.2f} s: exit {process.returncode}, {err.strip()!r}"
        assert leftovers(fresh_host) == [], where
        if after_first_step or runs(home):
            assert_interrupted(process, home, out)
        else:  # before the scan began: nothing was written, so nothing to mark
            assert process.returncode in (130, -signum) and not_begun(out), where


def test_sigint_sigterm_and_sigkill_while_the_remote_probe_blocks(
    fresh_host: LabHost, lab_env: dict[str, str], tmp_path: Path
) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        process, home = start_scan(tmp_path / signum.name, fresh_host, lab_env)
        began(fresh_host, "stuck", process)
        process.send_signal(signum)
        out, _ = process.communicate(timeout=HANG)
        assert leftovers(fresh_host) == []
        assert_interrupted(process, home, out)
    # SIGKILL: the TCP connection closes, sshd closes the supervisor's stdin (its
    # lifeline), and it ends the probe's session; that takes a moment, seen from here
    process, home = start_scan(tmp_path / "SIGKILL", fresh_host, lab_env)
    began(fresh_host, "stuck", process)
    process.kill()
    process.communicate()
    deadline = time.monotonic() + HANG
    while leftovers(fresh_host) and time.monotonic() < deadline:
        continue  # each look is an SSH round trip
    assert leftovers(fresh_host) == []
    assert runs(home) == [(1, "running", 0)]


def test_the_ansible_engine_stops_the_remote_probe_too(
    fresh_host: LabHost, lab_env: dict[str, str], tmp_path: Path
) -> None:
    """The same bundle under the same supervisor, shipped by Ansible's script module:
    its lifeline is Ansible's pseudo-terminal, whose hangup ends the probe."""
    process, home = start_scan(tmp_path, fresh_host, lab_env, "--engine", "ansible")
    began(fresh_host, "stuck", process)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=HANG)
    assert_interrupted(process, home, out)
    deadline = time.monotonic() + HANG
    while leftovers(fresh_host) and time.monotonic() < deadline:
        continue  # each look is an SSH round trip
    assert leftovers(fresh_host) == []
