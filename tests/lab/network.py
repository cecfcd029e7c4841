"""Network namespaces and veth pairs: one small /30 per lab host, nothing routed."""

from __future__ import annotations

import subprocess
import time

from tests.lab.paths import PREFIX, SUBNET, host_side_address, lab_address


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def namespace_name(host: str) -> str:
    return f"{PREFIX}{host}"


def veth_name(slot: int) -> str:
    """The host-side end of a lab host's veth (interface names are limited to 15 bytes)."""
    return f"{PREFIX}{slot}"


def peer_name(slot: int) -> str:
    """The lab end of the veth, before it moves into the host's namespace."""
    return f"{PREFIX}{slot}c"


def create_veth(slot: int) -> str:
    """The veth pair of a slot; this machine's end is addressed and up. Returns the peer."""
    veth, peer = veth_name(slot), peer_name(slot)
    ip("link", "add", veth, "type", "veth", "peer", "name", peer)
    ip("addr", "add", f"{host_side_address(slot)}/30", "dev", veth)
    ip("link", "set", veth, "up")
    return peer


def create_tap(slot: int) -> str:
    """A VM host's tap device (named like a veth), addressed and up, for qemu to open."""
    tap = veth_name(slot)
    ip("tuntap", "add", "dev", tap, "mode", "tap")
    ip("addr", "add", f"{host_side_address(slot)}/30", "dev", tap)
    ip("link", "set", tap, "up")
    return tap


def configure_inside(ns: str, slot: int) -> None:
    """Name the lab end eth0 inside the namespace, address it, bring it and lo up."""
    ip("-n", ns, "link", "set", peer_name(slot), "name", "eth0")
    ip("-n", ns, "addr", "add", f"{lab_address(slot)}/30", "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")
    ip("-n", ns, "link", "set", "lo", "up")


def create(host: str, slot: int) -> str:
    """A new named namespace holding the lab end of the slot's veth; returns its name."""
    ns = namespace_name(host)
    ip("netns", "add", ns)
    ip("link", "set", create_veth(slot), "netns", ns)
    configure_inside(ns, slot)
    return ns


def adopt(host: str, slot: int, pid: int) -> str:
    """Name the namespace that process ``pid`` created (systemd-nspawn's private network,
    into which it moved the slot's peer) and configure it like :func:`create` does."""
    ns = namespace_name(host)
    ip("netns", "attach", ns, str(pid))
    deadline = time.monotonic() + 15
    while ip("-n", ns, "link", "show", peer_name(slot), check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{peer_name(slot)} never reached the namespace {ns}")
        time.sleep(0.01)  # nspawn moves the interface in after the container starts
    configure_inside(ns, slot)
    return ns


def fence() -> None:
    """Blackhole the whole lab range, so that nothing aimed at a lab address that is not
    up can leave this machine by the default route (each host's /30 is more specific)."""
    ip("route", "replace", "blackhole", f"{SUBNET}.0.0/16")


def lab_namespaces() -> list[str]:
    listing = ip("netns", "list", check=False).stdout
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    return [n for n in names if n.startswith(PREFIX)]


def lab_veths() -> list[str]:
    listing = ip("-o", "link", "show", check=False).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in listing.splitlines()]
    return [n for n in names if n.startswith(PREFIX)]


def pids_in(ns: str) -> list[int]:
    out = ip("netns", "pids", ns, check=False).stdout
    return [int(p) for p in out.split()]


def delete(ns: str) -> None:
    ip("netns", "delete", ns, check=False)
