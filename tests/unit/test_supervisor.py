"""The probe supervisor on this machine: output passes through, nothing outlives it.

Real `sh` processes; "left behind" is judged from /proc by an environment marker that
every process started by the probe inherits.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from osiris.transport import CommandOutput
from osiris.transport.local import LocalTransport
from osiris.transport.supervisor import STOPPED, embedded_supervisor


def marked(mark: str) -> list[int]:
    needle = f"OSIRIS_TEST_MARK={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and needle in (entry / "environ").read_bytes()
                and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_probe_that_leaves_a_process_behind_does_not_hold_the_scan(tmp_path: Path) -> None:
    """Before: the orphan kept the output pipe open, and the host timed out."""
    mark = f"orphan{os.getpid()}"
    script = f"(OSIRIS_TEST_MARK={mark} sleep 30 &); echo $TMPDIR; echo done"
    result = LocalTransport().run(script, timeout=10)
    assert isinstance(result, CommandOutput)
    workdir, last = result.stdout.split()
    assert (last, result.exit_code) == ("done", 0)
    assert not Path(workdir).exists()  # the bundle's TMPDIR went with it
    assert marked(mark) == []


def test_the_exit_status_and_stderr_of_the_bundle_come_back() -> None:
    result = LocalTransport().run("echo out; echo err >&2; exit 3", timeout=10)
    assert (result.stdout, result.stderr, result.exit_code) == ("out\n", "err\n", 3)


@pytest.mark.parametrize("lifeline", [False, True])
def test_the_embedded_form_for_ansible(tmp_path: Path, lifeline: bool) -> None:
    """Without a lifeline (Ansible's local connection: stdin closed at once, a session
    shared with ansible-playbook's other work) it runs to its end and ends only what the
    bundle started: this test's own session survives it. With one (over SSH: a session
    of its own), that same closed stdin stops it."""
    mark = f"embedded{os.getpid()}{lifeline}"
    bundle = f"(OSIRIS_TEST_MARK={mark} sleep 30 &); sleep 0.5; echo probed"
    script = tmp_path / "bundle.sh"
    script.write_text(embedded_supervisor(bundle, lifeline=lifeline))
    neighbour = subprocess.Popen(["sleep", "30"])  # shares this test's session
    try:
        result = subprocess.run(
            ["sh", str(script)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env={**os.environ, "TMPDIR": str(tmp_path)},
            start_new_session=lifeline,  # as sshd gives it
        )
        assert neighbour.poll() is None  # not the supervisor's to end
    finally:
        neighbour.kill()
        neighbour.wait()
    if lifeline:
        assert (result.returncode, result.stdout) == (STOPPED, "")
    else:
        assert (result.returncode, result.stdout) == (0, "probed\n")
    assert marked(mark) == []
    assert [p.name for p in tmp_path.iterdir()] == ["bundle.sh"]  # its work dir is gone
