"""From Ansible host variables to validated :class:`Host` records.

Honoured: ansible_host, ansible_port, ansible_user, ansible_connection (ssh, paramiko,
smart -> ssh; winrm, psrp -> winrm; local), ansible_ssh_private_key_file,
ansible_password / ansible_ssh_pass, ansible_become (sudo -n), ansible_winrm_transport,
ansible_winrm_scheme, ansible_winrm_server_cert_validation, ansible_winrm_ca_trust_path,
ansible_winrm_cert_pem / ansible_winrm_cert_key_pem (certificate auth, HTTPS only),
``-o UserKnownHostsFile=`` in ansible_ssh_common_args / ansible_ssh_extra_args, and
osiris_role (workstation, server, domain_controller, appliance).
"""

from __future__ import annotations

import shlex
import socket
import ssl
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from osiris.errors import InputError
from osiris.inventory import host_list
from osiris.inventory.ansible_source import RawHost, read_sources
from osiris.inventory.secrets import SecretsFile, resolve_password
from osiris.model import Connection, Host, Platform, Role

_CONNECTIONS = {
    "ssh": Connection.SSH,
    "paramiko": Connection.SSH,
    "paramiko_ssh": Connection.SSH,
    "smart": Connection.SSH,
    "winrm": Connection.WINRM,
    "psrp": Connection.WINRM,
    "local": Connection.LOCAL,
}
_WINRM_TRANSPORTS = ("basic", "plaintext", "ntlm", "kerberos", "certificate")
# Accepted by Ansible but not by osiris: said at load, with what to use instead. CredSSP
# exists to delegate credentials to a second hop, which a probe run on the host never
# makes, and no CredSSP server could be tested here (README: Inventories).
_REFUSED_TRANSPORTS = {
    "credssp": "CredSSP is not supported: use ntlm over https, kerberos, or certificate",
}


def local_host(role: Role | None = None) -> Host:
    """This machine, reached by a local subprocess (the no-inventory scan)."""
    platform = Platform.WINDOWS if sys.platform == "win32" else Platform.LINUX
    default_role = Role.WORKSTATION if platform is Platform.WINDOWS else Role.SERVER
    return Host(
        name=socket.gethostname() or "localhost",
        address="localhost",
        connection=Connection.LOCAL,
        platform=platform,
        role=role or default_role,
    )


def load_inventory(
    sources: Sequence[Path], *, limit: str | None = None, secrets: SecretsFile | None = None
) -> list[Host]:
    """All hosts of the inventory sources (matching ``limit``), validated. A source may
    be a file, a directory or a host list ('web1,root@db1:2222,', see host_list.py)."""
    secrets = secrets or SecretsFile()
    files = [s for s in sources if not host_list.is_host_list(s)]
    raw = read_sources(files, limit) if files else []
    for source in sources:
        if host_list.is_host_list(source):
            raw += host_list.select(host_list.read_host_list(str(source)), limit)
    if limit and not raw:
        raise InputError(f"--limit '{limit}' matches no host")
    return [to_host(raw_host, secrets) for raw_host in raw]


def to_host(raw: RawHost, secrets: SecretsFile) -> Host:
    v = raw.vars

    def bad(field: str, message: str) -> InputError:
        return InputError(f"host {raw.name}: {message}", file=raw.source, field=field)

    connection = _connection(v, bad)
    platform = Platform.WINDOWS if connection is Connection.WINRM else Platform.LINUX
    role = _role(v, platform, bad)
    address = v.get("ansible_host", raw.name)
    if address is None or not str(address).strip():
        raise bad("ansible_host", "has no address")
    password = resolve_password(
        v.get("ansible_password", v.get("ansible_ssh_pass")),
        host=raw.name,
        field_name="ansible_password",
        source=raw.source,
    ) or secrets.password_for(raw.name, raw.groups)
    key_file = _key_file(v, bad)
    common = dict(
        name=raw.name,
        address=str(address).strip(),
        connection=connection,
        platform=platform,
        role=role,
        port=_port(v, bad),
        user=_opt_str(v.get("ansible_user", v.get("ansible_ssh_user"))),
        password=password,
        key_file=key_file,
        groups=raw.groups,
    )
    if connection is Connection.WINRM:
        return Host(**common, **_winrm_options(v, bad))  # type: ignore[arg-type]
    return Host(
        **common,  # type: ignore[arg-type]
        become=_truthy(v.get("ansible_become", False)),
        known_hosts=_known_hosts_files(v),
    )


def _connection(v: Mapping[str, Any], bad: Any) -> Connection:
    name = str(v.get("ansible_connection") or "ssh")
    if name not in _CONNECTIONS:
        raise bad(
            "ansible_connection",
            f"unknown connection type '{name}' (one of {', '.join(sorted(_CONNECTIONS))})",
        )
    return _CONNECTIONS[name]


def _role(v: Mapping[str, Any], platform: Platform, bad: Any) -> Role:
    default = Role.WORKSTATION if platform is Platform.WINDOWS else Role.SERVER
    value = v.get("osiris_role", default)
    try:
        return Role(value)
    except ValueError:
        raise bad("osiris_role", f"unknown role '{value}' (one of {', '.join(Role)})") from None


def _port(v: Mapping[str, Any], bad: Any) -> int | None:
    value = v.get("ansible_port")
    if value is None:
        return None
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise bad("ansible_port", f"'{value}' is not a port number") from None
    if not 0 < port < 65536:
        raise bad("ansible_port", f"{port} is out of range")
    return port


def _key_file(v: Mapping[str, Any], bad: Any) -> str | None:
    value = v.get("ansible_ssh_private_key_file", v.get("ansible_private_key_file"))
    if not value:
        return None
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise bad("ansible_ssh_private_key_file", f"key file {path} does not exist")
    return str(path)


def _winrm_options(v: Mapping[str, Any], bad: Any) -> dict[str, Any]:
    transports = v.get("ansible_winrm_transport") or "ntlm"
    if isinstance(transports, str):
        transports = [t.strip() for t in transports.split(",")]
    transport = str(transports[0])
    if transport in _REFUSED_TRANSPORTS:
        raise bad("ansible_winrm_transport", _REFUSED_TRANSPORTS[transport])
    if transport not in _WINRM_TRANSPORTS:
        raise bad("ansible_winrm_transport", f"unknown transport '{transport}'")
    scheme = str(
        v.get("ansible_winrm_scheme") or ("http" if v.get("ansible_port") == 5985 else "https")
    )
    if scheme not in ("http", "https"):
        raise bad("ansible_winrm_scheme", f"must be http or https, not '{scheme}'")
    cert_pem, cert_key_pem = (
        _client_cert(v, scheme, bad) if transport == "certificate" else (None, None)
    )
    validation = str(v.get("ansible_winrm_server_cert_validation") or "validate")
    if validation not in ("validate", "ignore"):
        raise bad("ansible_winrm_server_cert_validation", "must be validate or ignore")
    ca = v.get("ansible_winrm_ca_trust_path")
    if ca and not Path(str(ca)).expanduser().exists():
        raise bad("ansible_winrm_ca_trust_path", f"{ca} does not exist")
    return {
        "winrm_transport": "basic" if transport == "plaintext" else transport,
        "winrm_scheme": scheme,
        "winrm_cert_validation": validation == "validate",
        "winrm_ca_file": str(Path(str(ca)).expanduser()) if ca else None,
        "winrm_cert_pem": cert_pem,
        "winrm_cert_key_pem": cert_key_pem,
    }


def _client_cert(v: Mapping[str, Any], scheme: str, bad: Any) -> tuple[str, str]:
    """The client certificate and key files of certificate auth, checked to load and to
    belong together; osiris keeps their paths only."""
    if scheme != "https":
        raise bad("ansible_winrm_scheme", "certificate auth needs https")
    paths = []
    for name in ("ansible_winrm_cert_pem", "ansible_winrm_cert_key_pem"):
        value = v.get(name)
        if not value:
            raise bad(name, "certificate auth needs it (a PEM file)")
        path = Path(str(value)).expanduser()
        if not path.is_file():
            raise bad(name, f"{path} does not exist")
        paths.append(str(path))
    cert, key = paths

    def no_passphrase() -> str:
        raise ValueError("the key is encrypted")

    try:
        # stdlib only: the same OpenSSL load the TLS handshake will do
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert, key, password=no_passphrase)
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise bad(
            "ansible_winrm_cert_key_pem",
            f"{cert} and {key} are not a PEM certificate and its unencrypted key ({exc})",
        ) from None
    return cert, key


def _known_hosts_files(v: Mapping[str, Any]) -> tuple[str, ...]:
    files = []
    for name in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        words = shlex.split(str(v.get(name) or ""))
        for i, word in enumerate(words):
            option = word[2:] if word.startswith("-o") and len(word) > 2 else None
            if word == "-o" and i + 1 < len(words):
                option = words[i + 1]
            if option and option.lower().startswith("userknownhostsfile="):
                files.extend(option.split("=", 1)[1].split())
    return tuple(str(Path(f).expanduser()) for f in files)


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "yes", "true", "on")
    return bool(value)
