"""Hosts given on the command line: Ansible's ``-i 'web1,web2,'`` and ``osiris scan
root@host``, for a quick scan without an inventory file.

As Ansible's ``host_list`` plugin decides: a source that is not an existing path and
holds a comma is a list of hosts. Each entry is ``[user@]host[:port]`` (an IPv6 address
with a port in brackets: ``[fe80::1]:2222``); the user part is osiris's addition, so that
``root@host`` works as it does for ssh. They are SSH hosts with no variables beyond
these: host keys come from known_hosts as for any host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from osiris.errors import InputError
from osiris.inventory.ansible_source import RawHost

_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def is_host_list(source: Path | str) -> bool:
    """Ansible's rule: not an existing path, and a comma in it."""
    text = str(source)
    return "," in text and not Path(text).exists()


def targets_source(targets: Sequence[str]) -> str:
    """Hosts given as arguments (``osiris scan root@web1 db1``), as one host list."""
    return ",".join(targets) + ","


def read_host_list(text: str) -> list[RawHost]:
    """The hosts of one comma-separated list, in its order."""
    hosts: list[RawHost] = []
    seen: set[str] = set()
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue  # 'web1,' and 'web1,,web2' are Ansible's own spellings
        user, name, port = _parse_entry(entry, text)
        if name in seen:
            raise InputError(f"host {name} is given twice", file=text)
        seen.add(name)
        variables: dict[str, object] = {"ansible_host": name}
        if port is not None:
            variables["ansible_port"] = port
        if user is not None:
            variables["ansible_user"] = user
        hosts.append(RawHost(name=name, groups=(), vars=variables, source=text))
    if not hosts:
        raise InputError("the host list names no host", file=text)
    return hosts


def select(hosts: Iterable[RawHost], limit: str | None) -> list[RawHost]:
    """The hosts matching ``limit``, read as Ansible reads a pattern of host names."""
    if not limit:
        return list(hosts)
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    hosts = list(hosts)
    names = ",".join(f"[{h.name}]" if ":" in h.name else h.name for h in hosts) + ","
    chosen = {h.name for h in InventoryManager(DataLoader(), [names]).list_hosts(limit)}
    return [h for h in hosts if h.name in chosen]


def _parse_entry(entry: str, text: str) -> tuple[str | None, str, int | None]:
    from ansible.errors import AnsibleError
    from ansible.parsing.utils.addresses import parse_address

    user, at, address = entry.rpartition("@")
    if at and not _USER.match(user):
        raise InputError(f"'{entry}': '{user}' is not a user name", file=text)
    if not address:
        raise InputError(f"'{entry}' names no host", file=text)
    try:
        name, port = parse_address(address, allow_ranges=False)
    except AnsibleError:
        raise InputError(f"'{entry}' is not [user@]host[:port]", file=text) from None
    return (user or None), name, port
