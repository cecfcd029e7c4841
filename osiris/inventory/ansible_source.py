"""Reading inventory sources with ansible-core's own parser.

Ansible gives full fidelity (groups, children, group_vars/host_vars, patterns) but
reports a broken source only as "failed to parse". So each file is first checked here
(YAML syntax and shape with line numbers; INI through Ansible's INI plugin, whose error
carries the line), and only then handed to Ansible's InventoryManager.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
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
    """Parse every source and return the hosts matching ``limit`` (Ansible pattern;
    none matching is the caller's to judge). Relative paths are the working directory's,
    as for ``ansible -i``; messages name them as they were given."""
    for source in sources:
        precheck(source)
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    try:
        inventory = InventoryManager(loader=loader, sources=[str(s.absolute()) for s in sources])
    except AnsibleError as exc:
        raise InputError(f"cannot parse inventory: {exc.message}", file=sources[0]) from exc
    variables = VariableManager(loader=loader, inventory=inventory)
    hosts = inventory.list_hosts(limit or "all")
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
    failed_at = _track_line(plugin)
    try:
        # Ansible's INI reader wants an absolute path (else: "The src field must be an
        # absolute path"), whatever the user typed
        plugin.parse(InventoryData(), DataLoader(), str(path.absolute()))
    except AnsibleError as exc:
        cause = exc.__cause__
        line = failed_at() or _line_quoted(path, str(cause or exc))
        if isinstance(cause, AnsibleError) or cause is None:
            message = getattr(cause, "message", None) or str(cause or exc)
        else:  # a Python error inside the parser may say little to a user: show the line
            message = f"cannot read {_line_text(path, line)!r}: {cause}" if line else str(cause)
        raise InputError(f"invalid INI inventory: {message}", file=path, line=line) from exc


def _track_line(plugin: Any) -> Callable[[], int | None]:
    """Ansible's INI reader knows the line it failed on but forgets it before raising:
    keep it (its private ``_parse`` and ``_origin``; without them, no line)."""
    seen: list[int | None] = [None]
    parse = getattr(plugin, "_parse", None)
    if parse is None:
        return lambda: None

    def tracked(lines: list[str]) -> Any:
        try:
            return parse(lines)
        except Exception:
            seen[0] = getattr(getattr(plugin, "_origin", None), "line_num", None)
            raise

    plugin._parse = tracked
    return lambda: seen[0]


def _line_text(path: Path, line: int) -> str:
    lines = path.read_text(errors="replace").splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _line_quoted(path: Path, message: str) -> int | None:
    """Ansible's INI errors quote the offending line but lose its number: find it."""
    best: tuple[int, int] | None = None
    for number, text in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        text = text.strip()
        if text and text in message and (best is None or len(text) > best[1]):
            best = (number, len(text))
    return best[0] if best else None
