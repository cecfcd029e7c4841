"""An Ansible inventory generated from osiris's hosts, without secrets on disk.

Passwords never enter the inventory file: each becomes ``{{ lookup('env', NAME) }}``
and its value is handed to ansible-playbook's environment only (see ``AnsibleRun``).
Host keys stay pinned: known_hosts files and strict checking travel in the SSH args.
This machine's tasks run with the interpreter that runs osiris.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osiris.model import Connection, Host
from osiris.transport import TransportOptions


@dataclass(frozen=True)
class GeneratedInventory:
    data: dict[str, Any]
    secret_env: dict[str, str] = field(repr=False)  # NAME -> password, for the env only


def generate(
    hosts: Sequence[Host],
    options: TransportOptions,
    host_vars: dict[str, dict[str, Any]] | None = None,
) -> GeneratedInventory:
    """One ``all`` group holding every host with its connection variables."""
    entries: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for index, host in enumerate(hosts):
        variables = _connection_vars(host, options)
        if host.password is not None:
            name = f"OSIRIS_SECRET_{index}"
            secrets[name] = host.password.reveal()
            variables["ansible_password"] = f"{{{{ lookup('env', '{name}') }}}}"
        variables.update((host_vars or {}).get(host.name, {}))
        entries[host.name] = variables
    return GeneratedInventory({"all": {"hosts": entries}}, secrets)


def _connection_vars(host: Host, options: TransportOptions) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "ansible_host": host.address,
        "osiris_platform": host.platform.value,
        "osiris_role": host.role.value,
    }
    if host.port:
        variables["ansible_port"] = host.port
    if host.user:
        variables["ansible_user"] = host.user
    if host.connection is Connection.LOCAL:
        variables["ansible_connection"] = "local"
        # the Python running osiris, not whatever `python3` comes first on PATH (a pyenv
        # shim there broke every local runbook): it is there, and it runs Ansible already
        variables["ansible_python_interpreter"] = sys.executable
    elif host.connection is Connection.SSH:
        variables["ansible_connection"] = "ssh"
        variables["ansible_ssh_common_args"] = _ssh_args(host, options)
        if host.key_file:
            variables["ansible_ssh_private_key_file"] = host.key_file
        if host.become:
            variables["ansible_become"] = True
    else:
        variables.update(
            ansible_connection="winrm",
            ansible_winrm_transport=host.winrm_transport,
            ansible_winrm_scheme=host.winrm_scheme,
            ansible_winrm_server_cert_validation="validate"
            if host.winrm_cert_validation
            else "ignore",
        )
        if host.winrm_ca_file:
            variables["ansible_winrm_ca_trust_path"] = host.winrm_ca_file
        if host.winrm_cert_pem and host.winrm_cert_key_pem:
            variables["ansible_winrm_cert_pem"] = host.winrm_cert_pem
            variables["ansible_winrm_cert_key_pem"] = host.winrm_cert_key_pem
    return variables


def _ssh_args(host: Host, options: TransportOptions) -> str:
    files = [str(Path(f).expanduser()) for f in (*host.known_hosts, *options.known_hosts)]
    strict = "accept-new" if options.accept_new_host_keys else "yes"
    args = [f"-o StrictHostKeyChecking={strict}"]
    if files:
        args.append("-o " + shlex.quote(f"UserKnownHostsFile={' '.join(files)}"))
    return " ".join(args)
