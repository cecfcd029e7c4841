"""Windows hosts over WinRM with pywinrm. HTTPS with certificate validation by default.

Authentication: NTLM, Kerberos, Basic, or a client certificate (HTTPS only: the TLS
handshake presents it and the host maps it to a local account). CredSSP is refused when
the inventory is loaded (osiris/inventory/hosts.py), so it never reaches this module.

Scripts are not passed on the command line (Windows caps it near 8 KB, far below a probe
bundle): a small bootstrap starts PowerShell with ``-EncodedCommand`` and reads the real
script from stdin, which is sent with the WS-Man Send operation (as Ansible does).
"""

from __future__ import annotations

import base64
import contextlib
import time
from typing import Literal, get_args

import requests
import winrm
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
)

from osiris.model import Host
from osiris.transport.base import CommandOutput, FailureKind, TransportError, TransportOptions

# The bootstrap marker lets a reader (and the lab's WinRM twin) recognise it.
BOOTSTRAP = """# osiris:bootstrap v1
$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8
$osirisScript = $input | Out-String
& ([ScriptBlock]::Create($osirisScript))
exit $LASTEXITCODE
"""

WinrmAuth = Literal["basic", "certificate", "ntlm", "kerberos"]
_AUTH: dict[str, WinrmAuth] = {name: name for name in get_args(WinrmAuth)}

POWERSHELL_ARGS = ("-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass")


def encode_powershell(script: str) -> str:
    """PowerShell's -EncodedCommand form: base64 of UTF-16LE."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


class WinrmTransport:
    def __init__(self, host: Host, options: TransportOptions) -> None:
        auth = _AUTH.get(host.winrm_transport)
        if auth is None:
            raise TransportError(
                FailureKind.AUTH, f"WinRM authentication '{host.winrm_transport}' is not supported"
            )
        self._client_cert = host.winrm_cert_pem if auth == "certificate" else None
        if auth == "certificate":
            if not host.winrm_cert_pem or not host.winrm_cert_key_pem:
                raise TransportError(
                    FailureKind.AUTH,
                    "WinRM certificate auth needs ansible_winrm_cert_pem and"
                    " ansible_winrm_cert_key_pem",
                )
        elif not host.user or host.password is None:
            raise TransportError(FailureKind.AUTH, "WinRM needs ansible_user and a password")
        port = host.port or (5986 if host.winrm_scheme == "https" else 5985)
        self._endpoint = f"{host.winrm_scheme}://{host.address}:{port}/wsman"
        self._timeout = options.connect_timeout
        self._protocol = winrm.Protocol(
            endpoint=self._endpoint,
            transport=auth,
            username=host.user,
            password=host.password.reveal() if host.password is not None else None,
            cert_pem=self._client_cert,
            cert_key_pem=host.winrm_cert_key_pem if self._client_cert else None,
            server_cert_validation="validate" if host.winrm_cert_validation else "ignore",
            ca_trust_path=host.winrm_ca_file or "legacy_requests",
            operation_timeout_sec=20,
            read_timeout_sec=30,
        )

    def run(self, script: str, *, timeout: float) -> CommandOutput:
        deadline = time.monotonic() + timeout
        try:
            return self._run(script, deadline, timeout)
        except TransportError:
            raise
        except InvalidCredentialsError as exc:
            if self._client_cert:
                raise TransportError(
                    FailureKind.AUTH,
                    f"{self._endpoint} maps no account to the client"
                    f" certificate {self._client_cert}",
                ) from None
            raise TransportError(FailureKind.AUTH, f"authentication failed: {exc}") from None
        except requests.exceptions.SSLError as exc:
            raise self._tls_failure(exc) from None
        except requests.exceptions.Timeout:
            raise TransportError(FailureKind.TIMEOUT, f"no answer within {timeout:g} s") from None
        except requests.exceptions.ConnectionError as exc:
            raise TransportError(FailureKind.UNREACHABLE, f"{self._endpoint}: {exc}") from None
        except (WinRMError, WinRMTransportError) as exc:
            raise TransportError(FailureKind.PROTOCOL, str(exc)) from None

    def _tls_failure(self, exc: requests.exceptions.SSLError) -> TransportError:
        """Tell an untrusted host certificate from a client certificate the host refused."""
        if "CERTIFICATE_VERIFY_FAILED" in str(exc) or not self._client_cert:
            return TransportError(
                FailureKind.HOST_KEY, f"TLS certificate of {self._endpoint} not trusted: {exc}"
            )
        # The host ended the handshake after it saw our certificate: not issued by a CA
        # it trusts for client authentication (OpenSSL's client sees an alert or an EOF).
        return TransportError(
            FailureKind.AUTH,
            f"{self._endpoint} refused the client certificate {self._client_cert} in the TLS"
            " handshake (is it issued by a CA the host trusts for WinRM?)",
        )

    def _run(self, script: str, deadline: float, timeout: float) -> CommandOutput:
        protocol = self._protocol
        shell = protocol.open_shell(codepage=65001)
        try:
            command = protocol.run_command(
                shell,
                "powershell.exe",
                [*POWERSHELL_ARGS, "-EncodedCommand", encode_powershell(BOOTSTRAP)],
            )
            protocol.send_command_input(shell, command, script.encode("utf-8"), end=True)
            out: list[bytes] = []
            err: list[bytes] = []
            done, code = False, -1
            while not done:
                if time.monotonic() > deadline:
                    raise TransportError(FailureKind.TIMEOUT, f"no answer within {timeout:g} s")
                try:
                    stdout, stderr, code, done = protocol.get_command_output_raw(shell, command)
                except WinRMOperationTimeoutError:
                    continue  # the command is still running; ask again
                out.append(stdout)
                err.append(stderr)
            protocol.cleanup_command(shell, command)
            return CommandOutput(
                b"".join(out).decode("utf-8", "replace"),
                b"".join(err).decode("utf-8", "replace"),
                code,
            )
        finally:
            # a failure to close must not hide the error that brought us here
            with contextlib.suppress(WinRMError, WinRMTransportError, requests.RequestException):
                protocol.close_shell(shell)

    def close(self) -> None:
        pass
