"""Host passwords, from the environment or a 0600 secrets file. Never stored or printed.

An inventory may name an environment variable the Ansible way::

    ansible_password: "{{ lookup('env', 'CLINIC_DC_PASSWORD') }}"

or leave the password out and keep it in the site's ``secrets.yaml`` (mode 0600)::

    hosts:  {dc1: {password: ...}}
    groups: {windows: {password: ...}}

Service credentials (the L2 planner's API key, the SMTP password of L3 notices, a
webhook URL carrying a token) live in the same file under ``services``, or in the
environment, which wins (``service_secret``)::

    services: {anthropic_api_key: ..., smtp_password: ..., webhook_url: ...}
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osiris.errors import InputError
from osiris.model import Secret
from osiris.yamlfile import load_yaml

_ENV_LOOKUP = re.compile(
    r"""^\{\{\s*lookup\(\s*['"]env['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)\s*\}\}$"""
)


@dataclass(frozen=True)
class SecretsFile:
    hosts: Mapping[str, Secret] = field(default_factory=dict)
    groups: Mapping[str, Secret] = field(default_factory=dict)
    services: Mapping[str, Secret] = field(default_factory=dict)

    def password_for(self, host: str, groups: Sequence[str]) -> Secret | None:
        if host in self.hosts:
            return self.hosts[host]
        for group in groups:
            if group in self.groups:
                return self.groups[group]
        return None


def load_secrets(path: Path) -> SecretsFile:
    """Read ``path`` if it exists; refuse it unless only its owner can read it."""
    if not path.exists():
        return SecretsFile()
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InputError(f"secrets file is mode {mode:04o}; it must be 0600", file=path)
    data, lines = load_yaml(path)
    data = data or {}
    if not isinstance(data, dict) or set(data) - {"hosts", "groups", "services"}:
        raise InputError(
            "expected only 'hosts', 'groups' and 'services' mappings", file=path, line=1
        )
    return SecretsFile(
        hosts=_passwords(data.get("hosts") or {}, path, lines, "hosts"),
        groups=_passwords(data.get("groups") or {}, path, lines, "groups"),
        services=_services(data.get("services") or {}, path, lines),
    )


def service_secret(secrets_path: Path, name: str, env_var: str) -> Secret | None:
    """A service credential: ``$env_var`` if set, else ``services.<name>`` of the
    secrets file, else None (the feature that needs it stays off)."""
    if os.environ.get(env_var):
        return Secret(os.environ[env_var])
    return load_secrets(secrets_path).services.get(name)


def _services(section: Any, path: Path, lines: Mapping[Any, int]) -> dict[str, Secret]:
    if not isinstance(section, dict):
        raise InputError(
            "must be a mapping", file=path, line=lines.get(("services",)), field="services"
        )
    found = {}
    for key, value in section.items():
        if not isinstance(value, str) or not value:
            raise InputError(
                "must be a non-empty string",
                file=path,
                line=lines.get(("services", key)),
                field=f"services.{key}",
            )
        found[str(key)] = Secret(value)
    return found


def _passwords(section: Any, path: Path, lines: Mapping[Any, int], name: str) -> dict[str, Secret]:
    if not isinstance(section, dict):
        raise InputError("must be a mapping", file=path, line=lines.get((name,)), field=name)
    found = {}
    for key, entry in section.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("password"), str):
            raise InputError(
                "needs a 'password' string",
                file=path,
                line=lines.get((name, key)),
                field=f"{name}.{key}",
            )
        found[str(key)] = Secret(entry["password"])
    return found


def resolve_password(value: Any, *, host: str, field_name: str, source: str) -> Secret | None:
    """An inventory password value, with ``lookup('env', NAME)`` resolved."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f"host {host}: must be a string", file=source, field=field_name)
    match = _ENV_LOOKUP.match(value.strip())
    if match:
        env_name = match.group(1)
        if env_name not in os.environ:
            raise InputError(
                f"host {host}: environment variable {env_name} is not set",
                file=source,
                field=field_name,
            )
        return Secret(os.environ[env_name])
    if "{{" in value:
        raise InputError(
            f"host {host}: only {{{{ lookup('env', 'NAME') }}}} templates are supported here;"
            " or keep the password in secrets.yaml",
            file=source,
            field=field_name,
        )
    return Secret(value)
