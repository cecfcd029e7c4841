"""`osiris scan` of a Windows host with WinRM certificate authentication.

The host is the WinRM twin (tests/lab/winrm_twin), run in this test's process on
127.0.0.1: it stands in for Windows' WinRM service. Its HTTPS listener asks for a client
certificate in a real TLS handshake, accepts only one issued by the CA it trusts for
client authentication, and maps its user principal name to the account, as a Windows
ClientCertificate mapping does. osiris runs as a user runs it, in a subprocess, with an
inventory naming the certificate and key files the way Ansible's winrm plugin does.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.lab.winrm_twin import TwinServer, issue_server_cert, make_ca
from tests.lab.winrm_twin.ca import issue_client_cert
from tests.lab.winrm_twin.handler import WindowsHandler
from tests.lab.winrm_twin.state import WindowsState

USER = "osiris"


@dataclass(frozen=True)
class CertTwin:
    server: TwinServer
    ca: Path
    other_ca: Path
    other_ca_key: Path
    ca_key: Path


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[CertTwin]:
    pki = tmp_path / "pki"
    ca, ca_key = make_ca(pki / "ca")
    other_ca, other_ca_key = make_ca(pki / "other-ca")
    cert, key = issue_server_cert(ca, ca_key, pki / "server")
    state = tmp_path / "ws1.json"
    WindowsState.preset("workstation", "clean").save(state)
    server = TwinServer(
        WindowsHandler(state),
        username=USER,
        password="no password is used here",
        tls=(cert, key),
        auth=("certificate",),
        client_ca=ca,
    ).start()
    try:
        yield CertTwin(server, ca, other_ca, other_ca_key, ca_key)
    finally:
        server.stop()


def inventory(tmp_path: Path, twin: CertTwin, cert: Path, key: Path) -> Path:
    path = tmp_path / "windows.yml"
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": twin.server.port,
        "ansible_connection": "winrm",
        "ansible_winrm_transport": "certificate",
        "ansible_winrm_cert_pem": str(cert),
        "ansible_winrm_cert_key_pem": str(key),
        "ansible_winrm_ca_trust_path": str(twin.ca),
    }
    path.write_text(yaml.safe_dump({"windows": {"hosts": {"ws1": host}}}))
    return path


def test_a_scan_with_certificate_auth_reaches_the_host_and_keeps_the_key_out(
    osiris, tmp_path: Path, twin: CertTwin
) -> None:
    cert, key = issue_client_cert(twin.ca, twin.ca_key, tmp_path / "client", f"{USER}@localhost")

    result = osiris("scan", "-i", str(inventory(tmp_path, twin, cert, key)), "--json")

    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr
    [host] = json.loads(result.stdout)["hosts"]
    assert (host["name"], host["reached"], host["error"]) == ("ws1", True, None)
    assert {r["status"] for r in host["results"]} <= {"pass", "warning", "fail", "na"}
    assert len(host["results"]) > 10
    assert twin.server.stats.unauthorized == 0
    # the key file's path may be kept; the key itself goes nowhere
    # (PKCS#8 base64 of a P-256 key: its first 48 characters are the same for every key)
    private = "".join(key.read_text().splitlines()[1:-1])[48:90]
    stored = b"".join(f.read_bytes() for f in (tmp_path / "home").rglob("*") if f.is_file())
    assert private.encode() not in stored
    assert private not in result.stdout + result.stderr
    with sqlite3.connect(tmp_path / "home" / "osiris.db") as conn:
        assert conn.execute("SELECT count(*) FROM results").fetchone()[0] == len(host["results"])


def test_a_certificate_from_another_ca_is_refused_in_one_clear_line(
    osiris, tmp_path: Path, twin: CertTwin
) -> None:
    cert, key = issue_client_cert(
        twin.other_ca, twin.other_ca_key, tmp_path / "stranger", f"{USER}@localhost"
    )

    result = osiris("scan", "-i", str(inventory(tmp_path, twin, cert, key)), "--json")

    assert result.returncode == 2, result.stdout[-2000:] + result.stderr
    [host] = json.loads(result.stdout)["hosts"]
    assert not host["reached"]
    assert host["error"] == (
        f"auth: https://127.0.0.1:{twin.server.port}/wsman refused the client certificate {cert}"
        " in the TLS handshake (is it issued by a CA the host trusts for WinRM?)"
    )
    assert twin.server.stats.tls_failures >= 1
    assert "Traceback" not in result.stderr


def test_a_certificate_mapped_to_no_account_is_refused_in_one_clear_line(
    osiris, tmp_path: Path, twin: CertTwin
) -> None:
    cert, key = issue_client_cert(twin.ca, twin.ca_key, tmp_path / "other", "mallory@localhost")

    result = osiris("scan", "-i", str(inventory(tmp_path, twin, cert, key)), "--json")

    assert result.returncode == 2, result.stdout[-2000:] + result.stderr
    [host] = json.loads(result.stdout)["hosts"]
    assert host["error"] == (
        f"auth: https://127.0.0.1:{twin.server.port}/wsman maps no account"
        f" to the client certificate {cert}"
    )
    assert "Traceback" not in result.stderr


def test_with_certificate_auth_an_untrusted_host_is_still_told_apart(
    osiris, tmp_path: Path, twin: CertTwin
) -> None:
    """The host's own certificate fails validation first: that is the host's fault (the
    key pinning kind), not our certificate's."""
    cert, key = issue_client_cert(twin.ca, twin.ca_key, tmp_path / "client", f"{USER}@localhost")
    path = inventory(tmp_path, twin, cert, key)
    path.write_text(path.read_text().replace(str(twin.ca), str(twin.other_ca)))

    result = osiris("scan", "-i", str(path), "--json")

    assert result.returncode == 2, result.stdout[-2000:] + result.stderr
    [host] = json.loads(result.stdout)["hosts"]
    assert host["error"].startswith(
        f"host_key: TLS certificate of https://127.0.0.1:{twin.server.port}/wsman not trusted:"
    )
    assert twin.server.stats.requests == 0
