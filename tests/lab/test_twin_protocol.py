"""The WinRM twin speaks WS-Management well enough for the real pywinrm client.

Every test drives an unmodified `winrm.Session`/`winrm.Protocol` against a
twin on 127.0.0.1, over HTTPS (Basic, NTLM with channel binding, client
certificates) and HTTP (NTLM with message encryption).
"""

from __future__ import annotations

import base64
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError, WSManFaultError

from tests.lab.winrm_twin import TwinServer, decode_powershell, issue_server_cert, make_ca
from tests.lab.winrm_twin.ca import issue_client_cert

USER = "vagrant"
PASSWORD = "Tw1n-Passw0rd!"
MEGABYTE = 1024 * 1024

StartTwin = Callable[..., TwinServer]
Pki = dict[str, Path]


class EchoHandler:
    """Reverses PowerShell scripts; any other command prints its command line and exits 3."""

    def __init__(self, *, stdout: str | None = None) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self._stdout = stdout

    def run(self, command: str, arguments: list[str]) -> tuple[str, str, int]:
        self.calls.append((command, arguments))
        if self._stdout is not None:
            return self._stdout, "", 0
        script = decode_powershell(command, arguments)
        if script is not None:
            return script[::-1], "", 0
        return f"{command} {' '.join(arguments)}", "something went wrong", 3


class StdinEchoHandler(EchoHandler):
    """Also accepts stdin, the way Osiris and Ansible feed scripts to PowerShell."""

    def run_with_stdin(
        self, command: str, arguments: list[str], stdin: bytes
    ) -> tuple[str, str, int]:
        self.calls.append((command, arguments))
        return stdin.decode("utf-8").upper(), "", 0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_cert, ca_key = make_ca(folder / "ca")
    cert, key = issue_server_cert(ca_cert, ca_key, folder / "server")
    other_ca, other_ca_key = make_ca(folder / "other-ca")
    client, client_key = issue_client_cert(ca_cert, ca_key, folder / "c", f"{USER}@localhost")
    stranger, stranger_key = issue_client_cert(
        other_ca, other_ca_key, folder / "s", f"{USER}@localhost"
    )
    unmapped, unmapped_key = issue_client_cert(ca_cert, ca_key, folder / "u", "mallory@localhost")
    return {
        "ca": ca_cert,
        "ca_key": ca_key,
        "cert": cert,
        "key": key,
        "other_ca": other_ca,
        **{"client": client, "client_key": client_key},
        **{"stranger": stranger, "stranger_key": stranger_key},
        **{"unmapped": unmapped, "unmapped_key": unmapped_key},
    }


@pytest.fixture
def start_twin(pki: Pki) -> Iterator[StartTwin]:
    started: list[TwinServer] = []

    def start(handler: Any = None, *, https: bool = True, **kwargs: Any) -> TwinServer:
        kwargs.setdefault("username", USER)
        kwargs.setdefault("password", PASSWORD)
        tls = (pki["cert"], pki["key"]) if https else None
        twin = TwinServer(handler or EchoHandler(), tls=tls, **kwargs).start()
        started.append(twin)
        return twin

    yield start
    for twin in started:
        twin.stop()


def session(twin: TwinServer, pki: Pki, transport: str, **kwargs: Any) -> winrm.Session:
    kwargs.setdefault("server_cert_validation", "validate")
    kwargs.setdefault("ca_trust_path", str(pki["ca"]))
    auth = (kwargs.pop("username", USER), kwargs.pop("password", PASSWORD))
    return winrm.Session(twin.endpoint, auth=auth, transport=transport, **kwargs)


def test_run_ps_over_https_with_basic_validates_the_twin_ca(
    start_twin: StartTwin, pki: Pki
) -> None:
    twin = start_twin()
    assert twin.endpoint == f"https://127.0.0.1:{twin.port}/wsman"

    result = session(twin, pki, "basic").run_ps("Get-Service WinRM")

    assert result.status_code == 0
    assert result.std_out == b"MRniW ecivreS-teG"
    assert result.std_err == b""


def test_https_with_an_untrusted_ca_fails_tls_validation(start_twin: StartTwin, pki: Pki) -> None:
    twin = start_twin()

    with pytest.raises(requests.exceptions.SSLError):
        session(twin, pki, "basic", ca_trust_path=str(pki["other_ca"])).run_ps("hostname")


def test_run_ps_over_http_with_ntlm_uses_message_encryption(
    start_twin: StartTwin, pki: Pki
) -> None:
    twin = start_twin(https=False)
    client = session(twin, pki, "ntlm")

    result = client.run_ps("$PSVersionTable")

    assert result.std_out == b"elbaTnoisreVSP$"
    assert client.protocol.transport.encryption is not None
    # Every SOAP message (shell, command, receive, signal, delete) came encrypted.
    assert twin.stats.encrypted_requests == 5


def test_run_ps_over_https_with_ntlm_and_channel_binding(start_twin: StartTwin, pki: Pki) -> None:
    twin = start_twin()
    client = session(twin, pki, "ntlm")

    result = client.run_ps("whoami")

    assert result.std_out == b"imaohw"
    assert client.protocol.transport.encryption is None
    assert twin.stats.encrypted_requests == 0


def test_run_ps_sends_the_script_in_the_command_text(start_twin: StartTwin, pki: Pki) -> None:
    handler = EchoHandler()
    twin = start_twin(handler)

    session(twin, pki, "basic").run_ps("Write-Output 'é'")

    [(command, arguments)] = handler.calls
    assert command.startswith("powershell -encodedcommand ")
    assert arguments == []
    assert decode_powershell(command, arguments) == "Write-Output 'é'"


def test_run_cmd_propagates_arguments_stderr_and_exit_code(start_twin: StartTwin, pki: Pki) -> None:
    handler = EchoHandler()
    twin = start_twin(handler, https=False)

    result = session(twin, pki, "ntlm").run_cmd("ipconfig", ["/all", "/v"])

    assert handler.calls == [("ipconfig", ["/all /v"])]  # pywinrm joins the arguments
    assert result.std_out == b"ipconfig /all /v"
    assert result.std_err == b"something went wrong"
    assert result.status_code == 3


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
@pytest.mark.parametrize("https", [True, False])
def test_wrong_password_is_rejected_with_401(
    start_twin: StartTwin, pki: Pki, transport: str, https: bool
) -> None:
    twin = start_twin(https=https)

    with pytest.raises(InvalidCredentialsError):
        session(twin, pki, transport, password="wrong").run_cmd("hostname")
    assert twin.stats.unauthorized >= 1


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
@pytest.mark.parametrize("username", [USER.upper(), f".\\{USER}"])
def test_local_account_spellings_are_accepted(
    start_twin: StartTwin, pki: Pki, transport: str, username: str
) -> None:
    twin = start_twin(https=False)

    assert session(twin, pki, transport, username=username).run_cmd("x").status_code == 3


def test_unknown_user_is_rejected_over_ntlm(start_twin: StartTwin, pki: Pki) -> None:
    twin = start_twin(https=False)

    with pytest.raises(InvalidCredentialsError):
        session(twin, pki, "ntlm", username="administrator").run_cmd("hostname")


def test_auth_methods_can_be_restricted(start_twin: StartTwin, pki: Pki) -> None:
    twin = start_twin(auth=("ntlm",))

    with pytest.raises(InvalidCredentialsError):
        session(twin, pki, "basic").run_cmd("hostname")
    assert session(twin, pki, "ntlm").run_cmd("hostname").status_code == 3


def test_two_twins_with_different_credentials_coexist(start_twin: StartTwin, pki: Pki) -> None:
    alice = start_twin(EchoHandler(stdout="alice"), https=False, username="alice", password="A-pw")
    bob = start_twin(EchoHandler(stdout="bob"), https=False, username="bob", password="B-pw")

    as_alice = session(alice, pki, "ntlm", username="alice", password="A-pw")
    as_bob = session(bob, pki, "ntlm", username="BOB", password="B-pw")  # any case, like Windows
    assert as_alice.run_cmd("x").std_out == b"alice"
    assert as_bob.run_cmd("x").std_out == b"bob"
    with pytest.raises(InvalidCredentialsError):
        session(alice, pki, "ntlm", username="bob", password="B-pw").run_cmd("x")
    with pytest.raises(InvalidCredentialsError):
        session(bob, pki, "ntlm", username="alice", password="A-pw").run_cmd("x")


def test_a_megabyte_of_output_arrives_intact_over_encrypted_ntlm(
    start_twin: StartTwin, pki: Pki
) -> None:
    big = "".join(chr(ord("a") + i % 26) for i in range(MEGABYTE))
    twin = start_twin(EchoHandler(stdout=big), https=False)

    result = session(twin, pki, "ntlm").run_cmd("type", ["big.txt"])

    assert result.std_out == big.encode()
    assert result.status_code == 0


def test_output_is_chunked_to_fit_the_max_envelope_size(start_twin: StartTwin, pki: Pki) -> None:
    twin = start_twin(EchoHandler(stdout="x" * MEGABYTE))
    protocol = session(twin, pki, "basic").protocol
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "type", ["big.txt"])

    stdout, _, _, done = protocol.get_command_output_raw(shell, command)

    assert not done
    assert 0 < len(stdout) < protocol.max_env_sz
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)


def test_stdin_sent_with_send_reaches_a_stdin_handler(start_twin: StartTwin, pki: Pki) -> None:
    handler = StdinEchoHandler()
    twin = start_twin(handler, https=False)
    protocol = session(twin, pki, "ntlm").protocol
    shell = protocol.open_shell(codepage=65001)
    bootstrap = base64.b64encode("$input | Out-String".encode("utf-16-le")).decode()
    command = protocol.run_command(
        shell, "powershell.exe", ["-NoProfile", "-EncodedCommand", bootstrap]
    )

    protocol.send_command_input(shell, command, "get-date ✓".encode(), end=True)
    stdout, _, code = protocol.get_command_output(shell, command)

    assert (stdout.decode("utf-8"), code) == ("GET-DATE ✓", 0)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)


def test_stdin_to_a_handler_without_stdin_support_is_a_fault(
    start_twin: StartTwin, pki: Pki
) -> None:
    twin = start_twin()
    protocol = session(twin, pki, "basic").protocol
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "more")

    with pytest.raises(WSManFaultError) as fault:
        protocol.send_command_input(shell, command, b"data", end=True)
    assert fault.value.fault_subcode == "w:InternalError"


def test_unknown_shell_gets_the_windows_invalid_selectors_fault(
    start_twin: StartTwin, pki: Pki
) -> None:
    twin = start_twin()
    protocol = session(twin, pki, "basic").protocol

    with pytest.raises(WSManFaultError) as fault:
        protocol.run_command("7D1A09A4-0000-0000-0000-000000000000", "hostname")

    assert fault.value.code == 500
    assert fault.value.fault_subcode == "w:InvalidSelectors"
    assert fault.value.wsman_fault_code == 2150858843


def test_unknown_command_gets_a_fault(start_twin: StartTwin, pki: Pki) -> None:
    twin = start_twin(https=False)
    protocol = session(twin, pki, "ntlm").protocol
    shell = protocol.open_shell()

    with pytest.raises(WSManFaultError) as fault:
        protocol.get_command_output_raw(shell, "00000000-0000-0000-0000-000000000000")

    assert fault.value.fault_subcode == "w:InvalidParameter"
    protocol.close_shell(shell)


def test_deleted_shell_is_gone(start_twin: StartTwin, pki: Pki) -> None:
    twin = start_twin()
    protocol = session(twin, pki, "basic").protocol
    shell = protocol.open_shell()
    protocol.close_shell(shell, close_session=False)

    with pytest.raises(WSManFaultError):
        protocol.close_shell(shell)


def certificate_session(twin: TwinServer, pki: Pki, name: str) -> winrm.Session:
    return winrm.Session(
        twin.endpoint,
        auth=("", ""),  # certificate auth sends no user name or password
        transport="certificate",
        cert_pem=str(pki[name]),
        cert_key_pem=str(pki[f"{name}_key"]),
        server_cert_validation="validate",
        ca_trust_path=str(pki["ca"]),
    )


def test_a_client_certificate_from_the_trusted_ca_maps_to_the_account(
    start_twin: StartTwin, pki: Pki
) -> None:
    twin = start_twin(auth=("certificate",), client_ca=pki["ca"])

    result = certificate_session(twin, pki, "client").run_ps("whoami")

    assert result.std_out == b"imaohw"
    assert (twin.stats.unauthorized, twin.stats.tls_failures) == (0, 0)


def test_a_client_certificate_from_another_ca_fails_the_tls_handshake(
    start_twin: StartTwin, pki: Pki
) -> None:
    twin = start_twin(auth=("certificate",), client_ca=pki["ca"])

    with pytest.raises(requests.exceptions.SSLError):
        certificate_session(twin, pki, "stranger").run_ps("whoami")
    # refused by TLS itself: no request was read, so none reached authentication
    assert (twin.stats.tls_failures, twin.stats.requests) == (1, 0)


def test_a_certificate_mapped_to_no_account_is_rejected_with_401(
    start_twin: StartTwin, pki: Pki
) -> None:
    twin = start_twin(auth=("certificate",), client_ca=pki["ca"])

    with pytest.raises(InvalidCredentialsError):
        certificate_session(twin, pki, "unmapped").run_ps("whoami")
    assert (twin.stats.unauthorized, twin.stats.tls_failures) == (1, 0)


def test_certificate_auth_leaves_other_methods_working_without_a_certificate(
    start_twin: StartTwin, pki: Pki
) -> None:
    twin = start_twin(auth=("basic", "certificate"), client_ca=pki["ca"])

    assert session(twin, pki, "basic").run_cmd("x").status_code == 3
    assert certificate_session(twin, pki, "client").run_cmd("x").status_code == 3


def test_a_certificate_is_no_credential_where_certificate_auth_is_off(
    start_twin: StartTwin, pki: Pki
) -> None:
    twin = start_twin()  # Basic and NTLM only: the handshake asks for no certificate

    with pytest.raises(InvalidCredentialsError):
        certificate_session(twin, pki, "client").run_ps("whoami")


def test_serve_forever_returns_once_stopped(start_twin: StartTwin, pki: Pki) -> None:
    twin = start_twin(https=False)
    foreground = threading.Thread(target=twin.serve_forever)
    foreground.start()
    assert session(twin, pki, "basic").run_cmd("x").status_code == 3

    twin.stop()
    foreground.join(timeout=5)

    assert not foreground.is_alive()


def test_the_twin_refuses_non_loopback_addresses() -> None:
    for host in ("0.0.0.0", "192.0.2.1", "localhost"):  # noqa: S104 - must be refused
        with pytest.raises(ValueError, match="loopback"):
            TwinServer(EchoHandler(), username=USER, password=PASSWORD, host=host)


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        ("powershell -encodedcommand {b64}", []),
        ("PowerShell.exe", ["-NoProfile -NonInteractive -EncodedCommand {b64}"]),
        ("pwsh", ["-enc", "{b64}"]),
        ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -e {b64}", []),
        ('"C:\\Program Files\\PowerShell\\7\\pwsh.exe" -EC {b64}', []),
        ("powershell /EncodedCommand {b64}", []),
    ],
)
def test_decode_powershell_accepts_the_usual_spellings(command: str, arguments: list[str]) -> None:
    b64 = base64.b64encode("Get-Date".encode("utf-16-le")).decode()

    decoded = decode_powershell(command.format(b64=b64), [a.format(b64=b64) for a in arguments])

    assert decoded == "Get-Date"


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        ("cmd /c dir", []),
        ("powershell -Command Get-Date", []),
        ("powershell -ExecutionPolicy Bypass", []),
        ("powershell -encodedcommand not-base64!", []),
        ("notpowershell.exe -enc AAAA", []),
    ],
)
def test_decode_powershell_returns_none_for_anything_else(
    command: str, arguments: list[str]
) -> None:
    assert decode_powershell(command, arguments) is None


def test_ca_and_server_cert_are_reused_and_keys_are_private(tmp_path: Path) -> None:
    ca_cert, ca_key = make_ca(tmp_path)
    cert, key = issue_server_cert(ca_cert, ca_key, tmp_path)
    first = {path: path.read_bytes() for path in (ca_cert, ca_key, cert, key)}

    assert make_ca(tmp_path) == (ca_cert, ca_key)
    assert issue_server_cert(ca_cert, ca_key, tmp_path) == (cert, key)
    assert {path: path.read_bytes() for path in first} == first
    assert stat.S_IMODE(ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    issue_server_cert(ca_cert, ca_key, tmp_path, hostnames=["twin.test"])
    assert cert.read_bytes() != first[cert]  # different names, so a new certificate
