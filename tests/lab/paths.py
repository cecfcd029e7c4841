"""Where the lab keeps its state, and its fixed network plan."""

from __future__ import annotations

import os
from pathlib import Path

LAB_DIR = Path(os.environ.get("OSIRIS_LAB_DIR", "/var/lib/osiris-lab"))
CACHE_DIR = Path(os.environ.get("OSIRIS_LAB_CACHE", "/var/cache/osiris-lab"))

HOSTS_DIR = LAB_DIR / "hosts"
STATE_FILE = LAB_DIR / "state.json"
LOCK_FILE = LAB_DIR / "lab.lock"
INVENTORY_FILE = LAB_DIR / "inventory.yml"
KNOWN_HOSTS_FILE = LAB_DIR / "known_hosts"
CLIENT_KEY = LAB_DIR / "id_ed25519"
TWINS_DIR = LAB_DIR / "twins"
CA_DIR = LAB_DIR / "ca"

# Every lab namespace and host-side veth starts with this prefix; cleanup relies on it.
PREFIX = os.environ.get("OSIRIS_LAB_PREFIX", "osl-")
# <SUBNET>.<slot>.0/30 per host: .1 this machine, .2 the lab host
SUBNET = os.environ.get("OSIRIS_LAB_SUBNET", "10.251")


def host_side_address(slot: int) -> str:
    return f"{SUBNET}.{slot}.1"


def lab_address(slot: int) -> str:
    return f"{SUBNET}.{slot}.2"
