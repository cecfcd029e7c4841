"""SIGINT and SIGTERM stop `osiris verify` and `osiris evidence export` at any moment.

A real site of 20,000 bundles (the evidence bench's builder: real keys, real SQLite),
big enough that verify uses worker processes and both commands run for seconds. Each
command is started in its own process group and sent a signal after a range of delays
(from the moment its handlers are in place to past its end): it must be gone within
seconds with every process of its group, print a whole JSON document (status
"interrupted" with exit 130, or "complete" when the signal came after the work was
done), and leave no file behind but a whole kit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from bench.evidence import build

BUNDLES = 20_000  # verify hands a log this big to worker processes
DELAYS = (0.0, 0.05, 0.15, 0.3, 0.5, 0.8, 1.2, 1.7, 2.4, 3.2, 4.5, 6.5)
STOPPED_WITHIN = 3.0  # seconds from the signal to the end of every process of the group


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("interrupts") / "home"
    build(home, BUNDLES, 1, 50, per_host=False)
    return home


def handlers_installed(pid: int) -> bool:
    """Whether the osiris process catches SIGTERM yet (its mask of caught signals in
    /proc; only once it runs osiris: before exec, the child still has the test's own)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True  # already gone: nothing left to wait for
    if b"\0-m\0osiris\0" not in command:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (a zombie waiting for init to reap it
    has ended)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            return True
    return False


def interrupt(
    home: Path, args: list[str], signum: int, delay: float
) -> tuple[int, str, str, float]:
    """Run `osiris ARGS`, send ``signum`` ``delay`` seconds after its handlers are in
    place; (exit code, stdout, stderr, seconds from the signal until its whole group
    ended)."""
    env = {**os.environ, "OSIRIS_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "osiris", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        while not handlers_installed(process.pid):
            time.sleep(0.002)
        time.sleep(delay)  # the moment under test, not a wait for something
        sent = time.monotonic()
        if process.poll() is None:
            os.kill(process.pid, signum)
        stdout, stderr = process.communicate(timeout=60)
        while group_alive(process.pid) and time.monotonic() - sent < 30:
            time.sleep(0.01)
        return process.returncode, stdout, stderr, time.monotonic() - sent
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
            process.wait()


def outcomes(home: Path, args: list[str], check: object) -> list[str]:
    seen = []
    for i, delay in enumerate(DELAYS):
        signum = (signal.SIGINT, signal.SIGTERM)[i % 2]
        code, stdout, stderr, seconds = interrupt(home, args, signum, delay)
        moment = (args, delay, signal.Signals(signum).name, code, stderr)
        assert seconds < STOPPED_WITHIN, (moment, seconds)
        assert stdout.startswith("{"), moment
        document = json.loads(stdout)  # whole, whenever it came
        if code == 130:
            assert document["status"] == "interrupted", (delay, document)
        else:
            assert code in (0, 1) and document["status"] == "complete", (delay, code)
        check(code, document)  # type: ignore[operator]
        seen.append(document["status"])
        print(f"{args[0]} {signal.Signals(signum).name} after {delay} s: {code} in {seconds:.2f} s")
    return seen


def test_verify_stops_at_any_moment_and_says_so(big_site: Path) -> None:
    def check(code: int, document: dict) -> None:
        if code == 130:  # before the command started, the document is only its status
            assert document.get("ok", False) is False
        else:
            assert document["ok"] is True and code == 0

    seen = outcomes(big_site, ["verify", "--json", "--jobs", "2"], check)
    assert seen.count("interrupted") >= len(DELAYS) // 2, seen


def test_export_stops_at_any_moment_and_leaves_no_file(big_site: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    kit = out / "kit.zip"

    def check(code: int, document: dict) -> None:
        if code == 130:
            assert document.get("file") is None
            assert sorted(p.name for p in out.iterdir()) == [], list(out.iterdir())
        else:
            assert sorted(p.name for p in out.iterdir()) == ["kit.zip"]
            with zipfile.ZipFile(kit) as archive:
                assert archive.testzip() is None
                manifest = json.loads(archive.read("manifest.json"))
            assert manifest["envelopes"] == BUNDLES
            kit.unlink()

    seen = outcomes(big_site, ["evidence", "export", str(kit), "--json"], check)
    assert seen.count("interrupted") >= len(DELAYS) // 2, seen
