"""Network namespaces and veth pairs: one small /30 per lab host, nothing routed."""

from __future__ import annotations

import subprocess

from tests.lab.paths import PREFIX, SUBNET, host_side_address, lab_address


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def namespace_name(host: str) -> str:
    return f"{PREFIX}{host}"


def veth_name(slot: int) -> str:
    """The host-side end of a lab host's veth (interface names are limited to 15 bytes)."""
    return f"{PREFIX}{slot}"


def create(host: str, slot: int) -> str:
    """Create the host's namespace and its veth; returns the namespace name."""
    ns = namespace_name(host)
    veth = veth_name(slot)
    ip("netns", "add", ns)
    ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("addr", "add", f"{host_side_address(slot)}/30", "dev", veth)
    ip("link", "set", veth, "up")
    ip("-n", ns, "addr", "add", f"{lab_address(slot)}/30", "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")
    ip("-n", ns, "link", "set", "lo", "up")
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
