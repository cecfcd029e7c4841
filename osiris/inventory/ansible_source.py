"""Reading inventory sources with ansible-core's own parser.

Ansible gives full fidelity (groups, children, group_vars/host_vars, patterns) but
reports a broken source only as "failed to parse". So each file is first checked here
(YAML syntax and shape with line numbers; INI through Ansible's INI plugin, whose error
carries the line), and only then handed to Ansible's InventoryManager.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osiris.errors import InputError
from osiris.yamlfile import load_yaml

# Ansible reads these at import time: fail loudly instead of warning, and stay quiet.
os.environ.setdefault("ANSIBLE_INVENTORY_UNPARSED_FAILED", "True")
os.environ.setdefault("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "True")
os.environ.setdefault("ANSIBLE_LOCALHOST_WARNING", "False")
os.environ.setdefault("ANSIBLE_INVENTORY_ENABLED", "host_list,yaml,ini")

YAML_SUFFIXES = (".yml", ".yaml", ".json")
_GROUP_KEYS = {"hosts", "vars", "children"}


@dataclass(frozen=True)
class RawHost:
    """A host as Ansible resolved it: its name, groups and merged variables."""

    name: str
    groups: tuple[str, ...]
    vars: Mapping[str, Any]
    source: str


def read_sources(sources: Sequence[Path], limit: str | None) -> list[RawHost]:
    """Parse every source and return the hosts matching ``limit`` (Ansible pattern)."""
    for source in sources:
        precheck(source)
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    try:
        inventory = InventoryManager(loader=loader, sources=[str(s) for s in sources])
    except AnsibleError as exc:
        raise InputError(f"cannot parse inventory: {exc.message}", file=sources[0]) from exc
    variables = VariableManager(loader=loader, inventory=inventory)
    hosts = inventory.list_hosts(limit or "all")
    if limit and not hosts:
        raise InputError(f"--limit '{limit}' matches no host")
    raw = []
    for host in hosts:
        merged = variables.get_vars(host=host, include_hostvars=False)
        groups = tuple(g.name for g in host.get_groups() if g.name != "all")
        raw.append(RawHost(host.name, groups, dict(merged), str(merged.get("inventory_file"))))
    return raw


def precheck(source: Path) -> None:
    """Fail with file and line when a source is missing or malformed."""
    if not source.exists():
        raise InputError("inventory not found", file=source)
    if source.is_dir():
        for child in sorted(source.iterdir()):
            if child.is_file() and not child.name.startswith("."):
                precheck(child)
        return
    if source.suffix in YAML_SUFFIXES:
        _precheck_yaml(source)
    else:
        _precheck_ini(source)


def _precheck_yaml(path: Path) -> None:
    data, lines = load_yaml(path)
    if data is None:
        return
    if not isinstance(data, dict):
        raise InputError("an inventory must be a mapping of groups", file=path, line=1)
    for name, group in data.items():
        _check_group(path, lines, (name,), group)


def _check_group(path: Path, lines: Mapping[Any, int], key: tuple[Any, ...], group: Any) -> None:
    def bad(message: str, *where: Any) -> InputError:
        loc = (*key, *where)
        return InputError(
            message, file=path, line=lines.get(loc), field=".".join(str(p) for p in loc)
        )

    if group is None:
        return
    if not isinstance(group, dict):
        raise bad("a group must be a mapping (hosts, vars, children)")
    for sub, value in group.items():
        if sub not in _GROUP_KEYS:
            raise bad(f"unknown group key (one of {', '.join(sorted(_GROUP_KEYS))})", sub)
        if value is not None and not isinstance(value, dict):
            raise bad(f"'{sub}' must be a mapping", sub)
        if sub == "children" and value:
            for child, child_group in value.items():
                _check_group(path, lines, (*key, "children", child), child_group)
        if sub == "hosts" and value:
            for host, host_vars in value.items():
                if host_vars is not None and not isinstance(host_vars, dict):
                    raise bad("host variables must be a mapping", "hosts", host)


def _precheck_ini(path: Path) -> None:
    from ansible.errors import AnsibleError
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    plugin = inventory_loader.get("ini")
    try:
        plugin.parse(InventoryData(), DataLoader(), str(path))
    except AnsibleError as exc:
        cause = exc.__cause__
        message = getattr(cause, "message", None) or str(cause or exc)
        line = getattr(getattr(exc, "obj", None), "line_num", None) or _line_quoted(path, message)
        raise InputError(f"invalid INI inventory: {message}", file=path, line=line) from exc


def _line_quoted(path: Path, message: str) -> int | None:
    """Ansible's INI errors quote the offending line but lose its number: find it."""
    best: tuple[int, int] | None = None
    for number, text in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        text = text.strip()
        if text and text in message and (best is None or len(text) > best[1]):
            best = (number, len(text))
    return best[0] if best else None
