"""Booting lab hosts: systemd hosts (systemd-nspawn) and light hosts (sshd in a chroot).

Each host is an overlay on the cached base, mounted inside a private mount namespace
(``unshare --mount``) of the process that runs it, so the mount disappears with that
process: a crashed or killed lab cannot leave mounts behind. Per-host files (host key,
hostname, the client's authorized key) are written into the overlay's upper directory
before boot.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tests.lab import cleanup, network
from tests.lab.paths import CLIENT_KEY, HOSTS_DIR, KNOWN_HOSTS_FILE, lab_address


class Kind(StrEnum):
    SYSTEMD = "systemd"  # systemd as PID 1, sshd as a unit: a real Debian server
    LIGHT = "light"  # sshd alone in a chroot: cheap, for scale
    VM = "vm"  # Debian under qemu, root on LUKS: own kernel, disks and clock (tests/lab/vm.py)
    VM_PLAIN = "vm-plain"  # the same VM, installed without disk encryption

    @property
    def is_vm(self) -> bool:
        return self in (Kind.VM, Kind.VM_PLAIN)


@dataclass(frozen=True)
class LabHost:
    name: str
    kind: Kind
    slot: int
    address: str
    namespace: str
    pid: int
    host_key: str  # "ssh-ed25519 AAAA..." as in known_hosts

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "kind": self.kind.value}


def prepare(name: str, base: Path) -> tuple[Path, str]:
    """Create the host's directories and per-host files; returns (host dir, host key)."""
    directory = HOSTS_DIR / name
    for sub in ("up", "work", "root"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    upper = directory / "up"
    (upper / "etc/ssh").mkdir(parents=True, exist_ok=True)
    key = upper / "etc/ssh/ssh_host_ed25519_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    (upper / "etc/hostname").write_text(f"{name}\n")
    ssh_dir = upper / "root/.ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (ssh_dir / "authorized_keys").write_text(Path(f"{CLIENT_KEY}.pub").read_text())
    (ssh_dir / "authorized_keys").chmod(0o600)
    public = key.with_suffix(".pub").read_text().split()
    return directory, f"{public[0]} {public[1]}"


def _overlay(base: Path, directory: Path) -> str:
    options = f"lowerdir={base},upperdir={directory}/up,workdir={directory}/work"
    return (
        f"mount -t overlay overlay -o {shlex.quote(options)} {shlex.quote(str(directory / 'root'))}"
    )


def boot(name: str, kind: Kind, slot: int, base: Path, log: Path) -> LabHost:
    """Start a host in the background; it is not ready until :func:`wait_ready`."""
    directory, host_key = prepare(name, base)
    root = shlex.quote(str(directory / "root"))
    if kind is Kind.SYSTEMD:
        argv = _nspawn_argv(name, root, _overlay(base, directory), network.create_veth(slot))
    else:
        ns = network.create(name, slot)
        inner = (
            f"{_overlay(base, directory)} && mount -t proc proc {root}/proc"
            f" && mkdir -p {root}/run/sshd && exec chroot {root} /usr/sbin/sshd -D -e"
        )
        argv = [
            "ip",
            "netns",
            "exec",
            ns,
            "unshare",
            "--mount",
            "--pid",
            "--fork",
            "--propagation",
            "private",
            "sh",
            "-c",
            inner,
        ]
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    if kind is Kind.SYSTEMD:
        ns = network.adopt(name, slot, _container_leader(process))
    return LabHost(name, kind, slot, lab_address(slot), ns, process.pid, host_key)


def _nspawn_argv(name: str, root: str, overlay: str, interface: str) -> list[str]:
    # --network-interface gives the container a private network namespace, which is what
    # makes nspawn mount /proc/sys/net writable (sysctl checks and runbooks need it).
    # nspawn waits for udev to initialise that interface unless /sys is read-only, and this
    # machine has no udev: /sys is remounted read-only in nspawn's private mount namespace.
    inner = (
        f"mount -o remount,bind,ro /sys && {overlay} && exec systemd-nspawn -q -D {root}"
        f" --register=no --keep-unit --network-interface={interface} -b -M {name}"
        " --console=pipe"
    )
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner]


def _container_leader(nspawn: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """The pid of the container's init: nspawn's child in another network namespace."""
    own = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if nspawn.poll() is not None:
            raise RuntimeError(f"systemd-nspawn exited with {nspawn.returncode}")
        for child in _children(nspawn.pid):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{child}/ns/net") != own:
                    return child
        time.sleep(0.01)
    raise TimeoutError("systemd-nspawn started no container")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found.extend(int(p) for p in task.read_text().split())
    return found


def ssh_argv(host: LabHost | str, *command: str, timeout: int = 5) -> list[str]:
    """ssh to a lab host with strict host key checking against the lab's known_hosts."""
    address = host if isinstance(host, str) else host.address
    return [
        "ssh",
        "-i",
        str(CLIENT_KEY),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"UserKnownHostsFile={KNOWN_HOSTS_FILE}",
        "-o",
        f"ConnectTimeout={timeout}",
        "-o",
        "LogLevel=ERROR",
        f"root@{address}",
        *command,
    ]


def wait_ready(host: LabHost, deadline: float, log: Path | None = None) -> str:
    """Wait until the host answers over SSH (systemd hosts: boot finished, no unit failed).

    A boot that takes long (a unit waiting on a job timeout) is written to ``log`` with
    systemd's job list, so a slow lab can be diagnosed afterwards. A boot that ends
    ``degraded`` is written there with the failed units' journals, and those units are
    started once more: a unit that fails under load (seen once: the oneshot
    systemd-update-utmp-runlevel) must not make a clean host fail a check. A unit that
    fails again means the host is broken, and this raises.
    """
    if host.kind is Kind.LIGHT:
        return _wait_for(host, "true", deadline, log, lambda result: result.returncode == 0)
    retried = False
    while True:
        state = _wait_for(
            host,
            "systemctl is-system-running",
            deadline,
            log,
            lambda result: result.stdout.strip() in ("running", "degraded"),
        )
        if state == "running":
            return state
        failed = _failed_units(host)
        if log:
            with log.open("a") as out:
                out.write(f"{host.name}: booted degraded; failed: {failed}\n")
                out.write(
                    _ssh_output(
                        host, f"journalctl -b --no-pager -n 30 {_units(failed, flag='-u ')}"
                    )
                )
        if retried or not failed:
            raise RuntimeError(f"lab host {host.name} booted degraded: failed units {failed}")
        _ssh_output(host, f"systemctl reset-failed; systemctl start {_units(failed)}")
        retried = True


def _wait_for(
    host: LabHost,
    command: str,
    deadline: float,
    log: Path | None,
    done: Callable[[subprocess.CompletedProcess[str]], bool],
) -> str:
    """Run ``command`` over SSH until ``done`` says so; report a slow boot to ``log``."""
    started, reported, last = time.monotonic(), False, ""
    while time.monotonic() < deadline:
        result = subprocess.run(
            ssh_argv(host, command),
            capture_output=True,
            text=True,
            timeout=max(1, deadline - time.monotonic()),
        )
        state = result.stdout.strip()
        if done(result):
            return state or "running"
        last = (state or result.stderr.strip())[:200]
        if log and not reported and state and time.monotonic() - started > 15:
            jobs = _ssh_output(host, "systemctl list-jobs --no-pager")
            with log.open("a") as out:
                out.write(f"{host.name}: still {state} after 15 s; jobs:\n{jobs}\n")
            reported = True
        time.sleep(0.2)
    raise TimeoutError(f"lab host {host.name} not ready: {last}")


def _failed_units(host: LabHost) -> list[str]:
    listing = _ssh_output(host, "systemctl list-units --state=failed --no-legend --plain")
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def _units(names: list[str], flag: str = "") -> str:
    return " ".join(flag + shlex.quote(name) for name in names)


def _ssh_output(host: LabHost, command: str) -> str:
    return subprocess.run(
        ssh_argv(host, command), capture_output=True, text=True, timeout=60
    ).stdout


def destroy(host: LabHost) -> None:
    """Kill one host and remove its namespace, veth (or tap) and directory."""
    # every host process leads its own process group (a VM's time server is in qemu's)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(host.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while cleanup.in_process_groups({host.pid}) and time.monotonic() < deadline:
        time.sleep(0.05)
    if host.namespace:
        for pid in network.pids_in(host.namespace):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while network.pids_in(host.namespace) and time.monotonic() < deadline:
            time.sleep(0.05)
        network.delete(host.namespace)
    network.ip("link", "delete", network.veth_name(host.slot), check=False)
    shutil.rmtree(HOSTS_DIR / host.name, ignore_errors=True)
