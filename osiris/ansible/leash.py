"""Children that die with osiris: every ansible-playbook osiris starts is on a leash.

ansible-runner starts ``ansible-playbook`` by name from the run's PATH. The first one on
that PATH is the leash, a launcher written into the run's private data directory that
runs :func:`main`: it asks the kernel for SIGTERM when osiris dies
(``prctl(PR_SET_PDEATHSIG)``, which a ``kill -9`` of osiris triggers too), becomes the
reaper of every orphan below it (``PR_SET_CHILD_SUBREAPER``: Ansible's workers start
sessions of their own, so a process group would not hold them), records itself in the
private directory and runs the real ansible-playbook. On SIGTERM it kills everything
below it: the playbook, its workers, their modules and SSH clients.

:func:`end_run` ends whatever of a run is still alive, found from that record and from
every process whose command line names the private directory (Ansible's workers, an SSH
control master that detached), with all their descendants, and waits until each has
gone. osiris calls it whenever a run ends (osiris.ansible.runner), and the next heal
calls it for a run a dead heal left behind, before it re-checks (osiris.heal.reconcile).
Linux only, as the lab and the appliance are.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from types import FrameType

RECORD = "leash.json"  # in the private data directory: {"pid": ..., "start": ...}
_BIN = "leash-bin"  # the directory put first on the run's PATH
_ROUNDS = 5  # kill-and-look-again rounds: a process may fork while its tree is killed
_WAIT_SECONDS = 10.0  # for a SIGKILLed process to be gone (it never takes that long)
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36

_LAUNCHER = """#!{python} -I
# the osiris leash (osiris.ansible.leash), generated: ansible-playbook ends with osiris
import sys
sys.path.insert(0, {source!r})
from osiris.ansible.leash import main
main({parent}, {record!r}, {real!r})
"""


def install(private: Path, path: str) -> str:
    """Write the leash into ``private`` and return the PATH the run must use (the leash
    first), or ``path`` unchanged when there is no ansible-playbook to put on it."""
    real = shutil.which("ansible-playbook", path=path)
    if real is None:
        return path  # ansible-runner reports the missing command as before
    directory = private / _BIN
    directory.mkdir(mode=0o700)
    launcher = directory / "ansible-playbook"
    launcher.write_text(
        _LAUNCHER.format(
            python=sys.executable,
            source=str(Path(__file__).resolve().parents[2]),
            parent=os.getpid(),
            record=str(private / RECORD),
            real=real,
        )
    )
    launcher.chmod(0o700)
    return f"{directory}{os.pathsep}{path}"


def main(parent: int, record: str, real: str) -> None:
    """The leash itself, in the process ansible-runner started as ansible-playbook."""
    libc = ctypes.CDLL(None, use_errno=True)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _end_below)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1)
    libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != parent:  # osiris died before the line above could see it
        _end_below(signal.SIGTERM, None)
    me = os.getpid()
    with open(f"{record}.tmp", "w") as out:
        json.dump({"pid": me, "start": _start_time(me)}, out)
    os.replace(f"{record}.tmp", record)
    code = subprocess.call([real, *sys.argv[1:]])
    sys.exit(128 - code if code < 0 else code)


def _end_below(signum: int, frame: FrameType | None) -> None:
    _kill_all({os.getpid()}, include_roots=False)
    os._exit(128 + signum)


def end_run(private: Path) -> list[int]:
    """End every process of the run whose private data directory is ``private`` and wait
    until they are gone. Returns their pids (none: nothing of it was left)."""
    roots = set(_tagged(private))
    leader = _recorded_leader(private)
    if leader is not None:
        roots.add(leader)
    roots.discard(os.getpid())
    return sorted(_kill_all(roots, include_roots=True)) if roots else []


def _kill_all(roots: set[int], *, include_roots: bool) -> set[int]:
    """SIGKILL ``roots`` (if asked) and all their live descendants, again until none is
    left, then wait for each to be gone."""
    killed: set[int] = set()
    for _ in range(_ROUNDS):
        table = _processes()
        targets = _descendants(roots, table) | (roots if include_roots else set())
        targets = {p for p in targets if table.get(p, (0, "Z"))[1] != "Z"}
        if not targets:
            break
        for pid in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed |= targets
        roots = roots | targets
    for pid in killed:
        _wait_gone(pid)
    return killed


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process now."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def _descendants(roots: Iterable[int], table: dict[int, tuple[int, str]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _state) in table.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _tagged(private: Path) -> Iterable[int]:
    """Live processes whose command line names ``private`` (the run's own)."""
    tag = str(private).encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if tag in cmdline:
                yield int(entry.name)


def _recorded_leader(private: Path) -> int | None:
    """The recorded leash's pid, if that very process is still alive."""
    try:
        record = json.loads((private / RECORD).read_text())
        pid = int(record["pid"])
        # the same pid and start time: not another process that reused the pid
        return pid if _start_time(pid) == str(record["start"]) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _start_time(pid: int) -> str:
    """When ``pid`` started (clock ticks since boot): a pid and this name one process."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def _wait_gone(pid: int) -> None:
    """Until ``pid`` has exited: a pidfd becomes readable then, no polling."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        deadline = time.monotonic() + _WAIT_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            if select.select([fd], [], [], left)[0]:
                return
    finally:
        os.close(fd)
