"""Ansible inventories as Ansible reads them, turned into hosts; bad ones name the place."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from osiris.errors import InputError
from osiris.inventory import load_inventory
from osiris.inventory.secrets import load_secrets, service_secret
from osiris.model import Connection, Platform, Role

YAML_INVENTORY = """\
all:
  vars:
    ansible_user: admin
  children:
    linux:
      hosts:
        web1: {ansible_host: 10.0.0.5, ansible_port: 2222}
        appliance1: {osiris_role: appliance, ansible_become: true}
    windows:
      vars:
        ansible_connection: winrm
        ansible_winrm_transport: ntlm
      hosts:
        dc1:
          ansible_host: dc1.clinic.example
          osiris_role: domain_controller
          ansible_password: "{{ lookup('env', 'OSIRIS_TEST_DC_PW') }}"
        ws1: {ansible_connection: psrp, ansible_winrm_scheme: http, ansible_port: 5985}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def dc_password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OSIRIS_TEST_DC_PW", "s3cret-dc")
    return "s3cret-dc"


def test_yaml_inventory_with_groups_vars_and_roles(tmp_path: Path, dc_password: str) -> None:
    inventory = write(tmp_path, "hosts.yml", YAML_INVENTORY)
    (tmp_path / "group_vars").mkdir()
    key = write(tmp_path, "id_ed25519", "not really a key\n")
    write(tmp_path / "group_vars", "linux.yml", f"ansible_ssh_private_key_file: {key}\n")
    hosts = {h.name: h for h in load_inventory([inventory])}
    web1, appliance, dc1, ws1 = hosts["web1"], hosts["appliance1"], hosts["dc1"], hosts["ws1"]
    assert (web1.address, web1.port, web1.user, web1.connection) == (
        "10.0.0.5",
        2222,
        "admin",
        Connection.SSH,
    )
    assert web1.role is Role.SERVER and web1.platform is Platform.LINUX
    assert appliance.address == "appliance1" and appliance.role is Role.APPLIANCE
    assert appliance.become and appliance.key_file == str(key)
    assert dc1.connection is Connection.WINRM and dc1.role is Role.DOMAIN_CONTROLLER
    assert dc1.password is not None and dc1.password.reveal() == dc_password
    assert dc_password not in repr(dc1) and dc_password not in dc1.describe()
    assert (ws1.connection, ws1.winrm_scheme, ws1.role) == (
        Connection.WINRM,
        "http",
        Role.WORKSTATION,
    )
    assert dc1.winrm_scheme == "https" and dc1.winrm_cert_validation


def test_ini_inventory_and_several_sources(tmp_path: Path, dc_password: str) -> None:
    ini = write(
        tmp_path,
        "hosts.ini",
        """\
        [db]
        db1 ansible_host=10.0.0.9 ansible_ssh_common_args='-o UserKnownHostsFile=/tmp/kh'

        [db:vars]
        osiris_role=appliance
        """,
    )
    yml = write(tmp_path, "more.yml", YAML_INVENTORY)
    hosts = {h.name: h for h in load_inventory([ini, yml])}
    assert hosts["db1"].address == "10.0.0.9"
    assert hosts["db1"].role is Role.APPLIANCE
    assert hosts["db1"].known_hosts == ("/tmp/kh",)
    assert "dc1" in hosts


def test_limit_uses_ansible_patterns(tmp_path: Path, dc_password: str) -> None:
    inventory = write(tmp_path, "hosts.yml", YAML_INVENTORY)
    assert {h.name for h in load_inventory([inventory], limit="windows")} == {"dc1", "ws1"}
    assert {h.name for h in load_inventory([inventory], limit="linux:!web1")} == {"appliance1"}
    with pytest.raises(InputError, match="matches no host"):
        load_inventory([inventory], limit="nothing-here")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.yml", "all:\n  hosts:\n    x: [1\n", r"bad.yml:4: invalid YAML"),
        ("bad.yml", "all:\n  hots:\n    x:\n", r"bad.yml:2: all.hots: unknown group key"),
        ("bad.yml", "all:\n  hosts:\n    x: 5\n", r"bad.yml:3: all.hosts.x: host variables"),
        ("bad.ini", "[g]\nh1\n[g:bogus]\n", r"bad.ini:3: invalid INI inventory: .*unknown type"),
        (
            "conn.yml",
            "all:\n  hosts:\n    x: {ansible_connection: docker}\n",
            r"conn.yml: ansible_connection: host x: unknown connection type 'docker'",
        ),
        (
            "addr.yml",
            "all:\n  hosts:\n    x: {ansible_host: ''}\n",
            r"addr.yml: ansible_host: host x: has no address",
        ),
        ("port.yml", "all:\n  hosts:\n    x: {ansible_port: abc}\n", r"'abc' is not a port number"),
        (
            "key.yml",
            "all:\n  hosts:\n    x: {ansible_ssh_private_key_file: /nonexistent/key}\n",
            r"key file /nonexistent/key does not exist",
        ),
        ("role.yml", "all:\n  hosts:\n    x: {osiris_role: toaster}\n", r"unknown role 'toaster'"),
        (
            "env.yml",
            "all:\n  hosts:\n    x:\n"
            "      ansible_password: \"{{ lookup('env', 'OSIRIS_UNSET_X') }}\"\n",
            r"environment variable OSIRIS_UNSET_X is not set",
        ),
    ],
)
def test_bad_inventory_is_one_clear_error(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    os.environ.pop("OSIRIS_UNSET_X", None)
    with pytest.raises(InputError, match=expected):
        load_inventory([write(tmp_path, name, text)])


def test_missing_inventory_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="inventory not found"):
        load_inventory([tmp_path / "nope.yml"])


def test_secrets_file_must_be_private_and_supplies_passwords(tmp_path: Path) -> None:
    secrets_path = write(
        tmp_path,
        "secrets.yaml",
        """\
        hosts:
          ws1: {password: host-pw}
        groups:
          windows: {password: group-pw}
        """,
    )
    secrets_path.chmod(0o644)
    with pytest.raises(InputError, match="must be 0600"):
        load_secrets(secrets_path)
    secrets_path.chmod(0o600)
    inventory = write(
        tmp_path,
        "hosts.yml",
        """\
        windows:
          vars: {ansible_connection: winrm}
          hosts: {ws1: , ws2: }
        """,
    )
    hosts = {h.name: h for h in load_inventory([inventory], secrets=load_secrets(secrets_path))}
    assert hosts["ws1"].password is not None and hosts["ws1"].password.reveal() == "host-pw"
    assert hosts["ws2"].password is not None and hosts["ws2"].password.reveal() == "group-pw"


def test_service_secrets_come_from_the_environment_first_then_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets_path = write(
        tmp_path,
        "secrets.yaml",
        """\
        services:
          anthropic_api_key: from-file
        """,
    )
    secrets_path.chmod(0o600)
    monkeypatch.delenv("OSIRIS_TEST_KEY", raising=False)
    found = service_secret(secrets_path, "anthropic_api_key", "OSIRIS_TEST_KEY")
    assert found is not None and found.reveal() == "from-file"
    assert "from-file" not in repr(found)
    monkeypatch.setenv("OSIRIS_TEST_KEY", "from-env")
    found = service_secret(secrets_path, "anthropic_api_key", "OSIRIS_TEST_KEY")
    assert found is not None and found.reveal() == "from-env"
    assert service_secret(secrets_path, "smtp_password", "OSIRIS_TEST_NOPE") is None
    assert service_secret(tmp_path / "absent.yaml", "x", "OSIRIS_TEST_NOPE") is None
    secrets_path.write_text("services:\n  smtp_password: 42\n")
    with pytest.raises(InputError, match="must be a non-empty string") as caught:
        service_secret(secrets_path, "smtp_password", "OSIRIS_TEST_NOPE")
    assert caught.value.field == "services.smtp_password"
