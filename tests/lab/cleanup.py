"""Leave nothing behind: processes, namespaces, veths, lock files, host directories.

Runs before every ``up`` (an earlier run may have crashed or been killed -9) and at
``down``. Lab processes are found three ways, so none escapes: they live in a lab
namespace, or their command line names the lab directory (nspawn, twins), or their pid
is in the state file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from tests.lab import network
from tests.lab.paths import HOSTS_DIR, LAB_DIR, TWINS_DIR

# programs the lab starts; a process is ours only if it is one of these *and* names LAB_DIR
_OURS = ("systemd-nspawn", "unshare", "sh", "python", "sshd", "chroot", "ip", "qemu-system")


def lab_processes() -> list[int]:
    """Live (non-zombie) processes that belong to the lab."""
    found = set()
    for ns in network.lab_namespaces():
        found.update(network.pids_in(ns))
    marker = str(LAB_DIR).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        program = os.path.basename(argv[0]).decode(errors="replace")
        if program.startswith(_OURS) and any(marker in arg for arg in argv):
            found.add(int(entry.name))
    found.update(in_process_groups(found))  # a VM's time server shares qemu's group
    return sorted(p for p in found if _alive(p))


def in_process_groups(leaders: set[int]) -> set[int]:
    """Live processes whose process group is led by one of ``leaders``."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            group = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2])
        except (OSError, IndexError, ValueError):
            continue
        if group in leaders and _alive(int(entry.name)):
            members.add(int(entry.name))
    return members


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill_all(timeout: float = 10.0) -> None:
    """SIGKILL every lab process. Lab hosts are disposable: no graceful shutdown.

    (SIGTERM would make a container's systemd re-execute itself and nspawn start a slow
    poweroff; the overlays vanish with the processes' mount namespaces either way.)
    """
    deadline = time.monotonic() + timeout
    while pids := lab_processes():
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise RuntimeError(f"lab processes survive SIGKILL: {pids}")
        time.sleep(0.05)


def clean(keep_dirs: bool = False) -> None:
    """Tear down everything a lab (this one or a crashed one) may have left."""
    kill_all()
    for ns in network.lab_namespaces():
        network.delete(ns)
    for veth in network.lab_veths():
        network.ip("link", "delete", veth, check=False)
    if not keep_dirs:
        # overlays were mounted only in the hosts' private mount namespaces, which died
        # with their processes: the directories are plain directories again
        for directory in (HOSTS_DIR, TWINS_DIR):
            shutil.rmtree(directory, ignore_errors=True)
