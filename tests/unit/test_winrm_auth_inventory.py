"""WinRM authentication as the inventory gives it: certificate auth is taken with its two
PEM files (paths only), CredSSP is refused at load with what to use instead, and every
refusal names the host, the file and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from osiris.ansible.inventory import generate
from osiris.errors import InputError
from osiris.inventory import load_inventory
from osiris.transport import TransportOptions
from tests.lab.winrm_twin import issue_server_cert, make_ca
from tests.lab.winrm_twin.ca import issue_client_cert


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pki")
    ca, ca_key = make_ca(folder / "ca")
    cert, key = issue_client_cert(ca, ca_key, folder / "client", "osiris@localhost")
    other_cert, other_key = issue_server_cert(ca, ca_key, folder / "other")
    return {"cert": cert, "key": key, "other_key": other_key, "other_cert": other_cert}


def inventory(tmp_path: Path, host_vars: str) -> Path:
    path = tmp_path / "hosts.yml"
    body = textwrap.indent(textwrap.dedent(host_vars).strip(), " " * 6)
    path.write_text(
        "windows:\n  vars: {ansible_connection: winrm}\n  hosts:\n    ws1:\n"
        f"      ansible_host: 127.0.0.1\n{body}\n"
    )
    return path


def test_certificate_auth_keeps_the_two_paths_and_no_password(
    tmp_path: Path, client: dict[str, Path]
) -> None:
    path = inventory(
        tmp_path,
        f"""
        ansible_winrm_transport: certificate
        ansible_winrm_cert_pem: {client["cert"]}
        ansible_winrm_cert_key_pem: {client["key"]}
        """,
    )

    [host] = load_inventory([path])

    assert (host.winrm_transport, host.winrm_scheme) == ("certificate", "https")
    assert (host.winrm_cert_pem, host.winrm_cert_key_pem) == (
        str(client["cert"]),
        str(client["key"]),
    )
    assert host.password is None
    # Ansible runs of the same host authenticate the same way, from the same files
    variables = generate([host], TransportOptions()).data["all"]["hosts"]["ws1"]
    assert variables["ansible_winrm_transport"] == "certificate"
    assert variables["ansible_winrm_cert_pem"] == str(client["cert"])
    assert variables["ansible_winrm_cert_key_pem"] == str(client["key"])
    assert "BEGIN" not in repr(variables)  # the paths, never the key


def test_credssp_is_refused_at_load_with_what_to_use_instead(tmp_path: Path) -> None:
    path = inventory(tmp_path, "ansible_winrm_transport: credssp\nansible_user: admin")

    with pytest.raises(InputError) as error:
        load_inventory([path])

    assert str(error.value) == (
        f"{path}: ansible_winrm_transport: host ws1: CredSSP is not supported:"
        " use ntlm over https, kerberos, or certificate"
    )


@pytest.mark.parametrize(
    ("host_vars", "field", "message"),
    [
        (
            "ansible_winrm_cert_key_pem: {key}",
            "ansible_winrm_cert_pem",
            "certificate auth needs it (a PEM file)",
        ),
        (
            "ansible_winrm_cert_pem: {cert}",
            "ansible_winrm_cert_key_pem",
            "certificate auth needs it (a PEM file)",
        ),
        (
            "ansible_winrm_cert_pem: {cert}\nansible_winrm_cert_key_pem: {tmp}/nope.key",
            "ansible_winrm_cert_key_pem",
            "{tmp}/nope.key does not exist",
        ),
        (
            "ansible_winrm_cert_pem: {cert}\nansible_winrm_cert_key_pem: {key}\n"
            "ansible_winrm_scheme: http",
            "ansible_winrm_scheme",
            "certificate auth needs https",
        ),
        (
            "ansible_winrm_cert_pem: {cert}\nansible_winrm_cert_key_pem: {other_key}",
            "ansible_winrm_cert_key_pem",
            "{cert} and {other_key} are not a PEM certificate and its unencrypted key",
        ),
        (
            "ansible_winrm_cert_pem: {key}\nansible_winrm_cert_key_pem: {key}",
            "ansible_winrm_cert_key_pem",
            "{key} and {key} are not a PEM certificate and its unencrypted key",
        ),
    ],
)
def test_certificate_auth_without_usable_files_is_one_clear_error(
    tmp_path: Path, client: dict[str, Path], host_vars: str, field: str, message: str
) -> None:
    names = {k: str(v) for k, v in client.items()} | {"tmp": str(tmp_path)}
    path = inventory(tmp_path, "ansible_winrm_transport: certificate\n" + host_vars.format(**names))

    with pytest.raises(InputError) as error:
        load_inventory([path])

    assert error.value.field == field
    assert error.value.file == str(path)
    assert str(error.value).startswith(f"{path}: {field}: host ws1: {message.format(**names)}")
    assert "\n" not in str(error.value)


def test_an_encrypted_key_is_refused_without_asking_for_a_passphrase(
    tmp_path: Path, client: dict[str, Path]
) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(client["key"].read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    path = inventory(
        tmp_path,
        f"""
        ansible_winrm_transport: certificate
        ansible_winrm_cert_pem: {client["cert"]}
        ansible_winrm_cert_key_pem: {encrypted}
        """,
    )

    with pytest.raises(InputError, match="not a PEM certificate and its unencrypted key"):
        load_inventory([path])
