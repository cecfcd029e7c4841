"""Bring the lab up and down, and say what is running.

``up`` first cleans whatever an earlier (crashed or killed) run left, then boots the
hosts in parallel, waits until each answers over SSH with strict host key checking,
applies the drift profile, starts the WinRM twins, and writes an Ansible inventory and
a known_hosts file for the lab. A file lock keeps two ``up``/``down`` from racing.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.lab import cleanup, drift, network, twins, vm
from tests.lab.base import Base, ensure_base
from tests.lab.hosts import Kind, LabHost, destroy, wait_ready
from tests.lab.hosts import boot as boot_container
from tests.lab.paths import (
    CLIENT_KEY,
    INVENTORY_FILE,
    KNOWN_HOSTS_FILE,
    LAB_DIR,
    LOCK_FILE,
    STATE_FILE,
)

READY_TIMEOUT = 120.0


def boot(name: str, kind: Kind, slot: int, base: Path, log: Path) -> LabHost:
    """Start a host of any kind in the background."""
    if kind.is_vm:
        return vm.boot(name, kind, slot, base, log)
    return boot_container(name, kind, slot, base, log)


@dataclass
class LabState:
    hosts: list[LabHost] = field(default_factory=list)
    twins: list[twins.Twin] = field(default_factory=list)
    profile: str = "base"
    timings: dict[str, float] = field(default_factory=dict)

    def host(self, name: str) -> LabHost:
        return next(h for h in self.hosts if h.name == name)

    def save(self) -> None:
        data = {
            "hosts": [h.as_dict() for h in self.hosts],
            "twins": [t.as_dict() for t in self.twins],
            "profile": self.profile,
            "timings": self.timings,
        }
        tmp = STATE_FILE.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(STATE_FILE)

    @classmethod
    def load(cls) -> LabState | None:
        if not STATE_FILE.exists():
            return None
        data = json.loads(STATE_FILE.read_text())
        hosts = [LabHost(**{**h, "kind": Kind(h["kind"])}) for h in data["hosts"]]
        return cls(
            hosts=hosts,
            twins=[twins.Twin(**t) for t in data.get("twins", [])],
            profile=data.get("profile", "base"),
            timings=data.get("timings", {}),
        )


@contextmanager
def locked() -> Iterator[None]:
    LAB_DIR.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def require_root() -> None:
    if os.geteuid() != 0:
        raise PermissionError("the lab needs root (namespaces, overlay mounts, systemd-nspawn)")


def up(
    hosts: int = 3, light: int = 0, windows: int = 0, profile: str = "clean", vms: int = 0
) -> LabState:
    """Start a fresh lab. Any earlier lab is torn down first."""
    require_root()
    with locked():
        started = time.monotonic()
        cleanup.clean()
        cleaned = time.monotonic()
        network.fence()
        STATE_FILE.unlink(missing_ok=True)
        base = ensure_base()
        state = LabState(profile=profile)
        state.timings = {"cleanup": cleaned - started, "base": time.monotonic() - cleaned}
        _client_key()
        log = LAB_DIR / "boot.log"
        with log.open("a") as out:
            out.write(f"--- up at {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        plan = [(f"sys{i}", Kind.SYSTEMD) for i in range(1, hosts + 1)]
        plan += [(f"light{i}", Kind.LIGHT) for i in range(1, light + 1)]
        plan += [(f"vm{i}", Kind.VM) for i in range(1, vms + 1)]
        try:
            state.hosts = [boot(n, k, slot, base, log) for slot, (n, k) in enumerate(plan, 1)]
            state.save()  # so a crash from here on is still cleaned by pid
            _write_known_hosts(state.hosts)
            mark = time.monotonic()
            state.twins = twins.start_all(windows, profile)
            state.timings["twins"] = time.monotonic() - mark
            state.save()
            mark = time.monotonic()
            _ready(state.hosts, profile)
            state.timings["ready"] = time.monotonic() - mark
        except BaseException:
            cleanup.clean()
            raise
        state.timings["total"] = time.monotonic() - started
        write_inventory(state)
        state.save()
        return state


def _ready(hosts: list[LabHost], profile: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT

    def settle(host: LabHost) -> None:
        wait_ready(host, deadline, LAB_DIR / "boot.log")
        drift.apply_profile(host, profile)

    with ThreadPoolExecutor(max_workers=max(1, min(len(hosts), 16))) as pool:
        list(pool.map(settle, hosts))


def add_host(
    name: str, kind: Kind = Kind.SYSTEMD, profile: str = "clean", base: Base = Base.LAB
) -> LabHost:
    """Boot one more host into the running lab (a pristine host for one test).

    ``base=Base.STOCK`` boots Debian 12 as debootstrap leaves it (a container host only;
    give it ``profile="base"``: the other profiles need the lab's packages)."""
    with locked():
        state = LabState.load()
        if state is None:
            raise RuntimeError("the lab is not up")
        used = {h.slot for h in state.hosts}
        slot = next(i for i in range(1, 255) if i not in used)
        host = boot(name, kind, slot, base.ensure(), LAB_DIR / "boot.log")
        state.hosts.append(host)
        state.save()
        _write_known_hosts(state.hosts)
    _ready([host], profile)
    return host


def remove_host(name: str) -> None:
    with locked():
        state = LabState.load()
        if state is None:
            return
        host = state.host(name)
        destroy(host)
        state.hosts.remove(host)
        state.save()
        _write_known_hosts(state.hosts)


def down() -> None:
    require_root()
    with locked():
        cleanup.clean()
        for path in (STATE_FILE, INVENTORY_FILE, KNOWN_HOSTS_FILE):
            path.unlink(missing_ok=True)


def status() -> dict[str, Any]:
    state = LabState.load()
    if state is None:
        return {"up": False}
    alive = set(cleanup.lab_processes())
    return {
        "up": True,
        "profile": state.profile,
        "hosts": [{**h.as_dict(), "alive": h.pid in alive or _answers(h)} for h in state.hosts],
        "twins": [{**t.as_dict(), "alive": t.pid in alive} for t in state.twins],
        "inventory": str(INVENTORY_FILE),
        "known_hosts": str(KNOWN_HOSTS_FILE),
    }


def _answers(host: LabHost) -> bool:
    from tests.lab.hosts import ssh_argv

    return subprocess.run(ssh_argv(host, "true", timeout=2), capture_output=True).returncode == 0


def _client_key() -> None:
    if not CLIENT_KEY.exists():
        subprocess.run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "osiris-lab",
                "-f",
                str(CLIENT_KEY),
            ],
            check=True,
        )


def _write_known_hosts(hosts: list[LabHost]) -> None:
    KNOWN_HOSTS_FILE.write_text("".join(f"{h.address} {h.host_key}\n" for h in hosts))


def write_inventory(state: LabState) -> Path:
    """An Ansible inventory for the lab (strict host keys; twin passwords from the env)."""
    ssh_args = f"-o UserKnownHostsFile={KNOWN_HOSTS_FILE} -o StrictHostKeyChecking=yes"
    linux: dict[str, Any] = {
        h.name: {"ansible_host": h.address, "osiris_role": "server"} for h in state.hosts
    }
    groups: dict[str, Any] = {
        "linux": {
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(CLIENT_KEY),
                "ansible_ssh_common_args": ssh_args,
                "ansible_python_interpreter": "/usr/bin/python3",
            },
            "hosts": linux,
        }
    }
    if state.twins:
        groups["windows"] = twins.inventory_group(state.twins)
    INVENTORY_FILE.write_text(yaml.safe_dump({"all": {"children": groups}}, sort_keys=False))
    return INVENTORY_FILE
