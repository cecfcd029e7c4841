"""SIGINT, SIGTERM and SIGKILL during `osiris scan` of this machine, at many moments.

The scan runs in a real subprocess with a catalog whose probes take a while: five steps
of 0.3 s, then one that leaves an orphan behind and blocks. The first step and the stuck
probe announce themselves on a FIFO the test reads, so moments are placed inside the
scan whatever the machine's load. Every process osiris starts inherits the test's own
TMPDIR in its environment, even one that left its process group (GNU timeout does) or
lost its parent, so "no probe left" is "no process whose environment names that
TMPDIR", and "no temporary file left" is "that TMPDIR is empty".
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.cli.test_scan_local import make_catalog

STEP = 'sleep 0.3; echo \'{"state": "good"}\''
# an orphan that outlives its probe, and a probe that would block for a minute
STUCK = '(sleep 60 &); sleep 60; echo \'{"state": "good"}\''
# well past "a second or two", far below the minute the stuck probe takes: a hang fails
HANG = 15.0


def slow_catalog(directory: Path, announce: str = "") -> Path:
    """``announce``: a command (with ``{name}`` in it) that the first step and the stuck
    probe run first, to tell the test where the scan is."""
    probes = {f"lnx_step{i}": STEP for i in range(5)} | {"lnx_stuck": STUCK}
    if announce:
        probes["lnx_step0"] = f"{announce.format(name='step0')}\n{STEP}"
        probes["lnx_stuck"] = f"{announce.format(name='stuck')}\n{STUCK}"
    return make_catalog(directory, probes)


@contextlib.contextmanager
def announcements(tmp_path: Path) -> Iterator[tuple[str, Callable[[str], None]]]:
    """A FIFO the probes announce themselves on: (the command that writes it, a wait
    for a name on it)."""
    fifo = tmp_path / "announce"
    os.mkfifo(fifo)
    # opened first, so that a probe's write never blocks, read or not; and a writer of
    # our own, so that a probe closing its end is no end of file
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    keeper = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    heard: list[str] = []

    def wait(name: str) -> None:
        deadline = time.monotonic() + HANG
        while name not in heard:
            ready, _, _ = select.select([reader], [], [], max(0, deadline - time.monotonic()))
            assert ready, f"{name} never began"
            heard.extend(os.read(reader, 4096).decode().split())

    try:
        yield f"echo {{name}} >{fifo}", wait
    finally:
        os.close(keeper)
        os.close(reader)


def start_scan(tmp_path: Path, catalog: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    home, tmpdir = tmp_path / "home", tmp_path / "tmp"
    tmpdir.mkdir(parents=True)
    env = {
        "OSIRIS_HOME": str(home),
        "OSIRIS_CATALOG": str(catalog),
        "PATH": "/usr/bin:/bin",
        "TMPDIR": str(tmpdir),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "osiris", "scan", "--json"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return process, home, tmpdir


def descendants(tmpdir: Path) -> list[int]:
    """Live processes whose environment names ``tmpdir`` (osiris and all it started)."""
    needle = f"TMPDIR={tmpdir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def runs(home: Path) -> list[tuple]:
    if not (home / "osiris.db").exists():
        return []
    with sqlite3.connect(home / "osiris.db") as db:
        return db.execute("SELECT id, status, finished_at IS NOT NULL FROM runs").fetchall()


def not_begun(out: str) -> bool:
    """What --json prints when a signal came before the scan began: nothing (the
    interpreter was still starting) or the bare document of an interrupted command."""
    return out == "" or json.loads(out) == {"status": "interrupted"}


def assert_interrupted(process: subprocess.Popen[str], home: Path, out: str) -> None:
    """The contract once the scan has begun: run marked, exit 130, the document says so."""
    assert runs(home) == [(1, "interrupted", 1)]
    assert process.returncode == 130
    document = json.loads(out)
    assert (document["run_id"], document["status"], document["exit_code"]) == (
        1,
        "interrupted",
        130,
    )
    with sqlite3.connect(home / "osiris.db") as db:
        stored = db.execute("SELECT check_id, status FROM results WHERE run_id = 1").fetchall()
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    shown = [(r["check_id"], r["status"]) for h in document["hosts"] for r in h["results"]]
    assert sorted(stored) == sorted(shown)


def test_signals_at_many_moments_stop_the_scan_and_everything_it_started(
    tmp_path: Path,
) -> None:
    """Three moments counted from the start (the interpreter starting, osiris taking
    over, the plan), then seven from the first step's start (the steps, the moments
    between them, the stuck probe)."""
    moments = [(False, 0.1), (False, 0.3), (False, 0.6)]
    moments += [(True, offset) for offset in (0.0, 0.2, 0.45, 0.7, 1.0, 1.4, 2.2)]
    for index, (after_first_step, delay) in enumerate(moments):
        signum = signal.SIGINT if index % 2 == 0 else signal.SIGTERM
        case = tmp_path / f"at{index}"
        case.mkdir()
        with announcements(case) as (announce, began):
            catalog = slow_catalog(case / "catalog", announce)
            process, home, tmpdir = start_scan(case, catalog)
            if after_first_step:
                began("step0")
            time.sleep(delay)  # the moment under test, not a wait for something
            process.send_signal(signum)
            out, err = process.communicate(timeout=HANG)
        where = f"{signum.name} at {delay:.2f} s: exit {process.returncode}, {err.strip()!r}"
        assert descendants(tmpdir) == [], where
        assert list(tmpdir.iterdir()) == [], where
        if after_first_step or runs(home):
            assert_interrupted(process, home, out)
        else:  # before the scan began: nothing was written, so nothing to mark
            assert process.returncode in (130, -signum), where
            assert not_begun(out), where


def test_ctrl_c_and_sigterm_while_a_probe_blocks(tmp_path: Path) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        case = tmp_path / signum.name
        case.mkdir()
        with announcements(case) as (announce, began):
            process, home, tmpdir = start_scan(case, slow_catalog(case / "catalog", announce))
            began("stuck")
            process.send_signal(signum)
            out, err = process.communicate(timeout=HANG)
        assert descendants(tmpdir) == []
        assert list(tmpdir.iterdir()) == []
        assert_interrupted(process, home, out)
        assert err.strip().endswith("osiris: scan interrupted; completed hosts were recorded")
        # the five steps were done, but the host's bundle was stopped: no partial host
        assert json.loads(out)["hosts"] == []


def test_probes_die_with_a_scan_killed_by_sigkill(tmp_path: Path) -> None:
    """SIGKILL cannot be caught: the probes end through the parent-death signal and the
    closed lifeline (osiris/transport/supervisor.py), and take their directory along."""
    with announcements(tmp_path) as (announce, began):
        process, home, tmpdir = start_scan(tmp_path, slow_catalog(tmp_path / "c", announce))
        began("stuck")
        process.kill()
        process.communicate()
    pidfds = []
    for pid in descendants(tmpdir):
        with contextlib.suppress(ProcessLookupError):
            pidfds.append(os.pidfd_open(pid))
    try:  # each becomes readable when its process has ended
        deadline = time.monotonic() + HANG
        pending = list(pidfds)
        while pending and time.monotonic() < deadline:
            ready, _, _ = select.select(pending, [], [], deadline - time.monotonic())
            pending = [fd for fd in pending if fd not in ready]
    finally:
        for fd in pidfds:
            os.close(fd)
    assert descendants(tmpdir) == []
    assert list(tmpdir.iterdir()) == []
    assert runs(home) == [(1, "running", 0)]  # the next scan reconciles it (test_scan_local)
