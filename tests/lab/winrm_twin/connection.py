"""One HTTP/1.1 keep-alive connection to the WinRM twin.

`WsmanRequestHandler` authenticates each POST to /wsman (Basic and client
certificates per request, NTLM per connection), decrypts and re-encrypts
NTLM-sealed bodies, and passes the SOAP message to the twin's `WinrsService`.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from spnego.channel_bindings import GssChannelBindings

from . import encryption
from .auth import (
    BASIC,
    CERTIFICATE,
    MUTUAL_TLS_PROFILE,
    NTLM,
    NTLM_SCHEMES,
    AuthenticationFailed,
    Credentials,
    NtlmAcceptor,
    NtlmUserFile,
    challenge_headers,
    check_basic,
    check_client_certificate,
    parse_authorization,
)
from .soap import WsmanFault, fault_envelope, parse_request
from .winrs import WinrsService

log = logging.getLogger(__name__)

SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
WSMAN_PATH = "/wsman"
# Far above any WinRM envelope; only guards against a runaway client.
_MAX_BODY = 64 * 1024 * 1024


@dataclass
class ConnectionSettings:
    """What every connection of one twin shares."""

    credentials: Credentials
    methods: tuple[str, ...]
    ntlm_user_file: NtlmUserFile | None
    channel_bindings: GssChannelBindings | None
    machine: str
    cert_subject: str = ""  # the UPN a client certificate must carry (certificate auth)
    service: WinrsService | None = None
    counters: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str) -> None:
        """Increment one of the twin's request counters."""
        with self._lock:
            self.counters[name] += 1


class WsmanRequestHandler(BaseHTTPRequestHandler):
    """Serves POST /wsman on one connection; NTLM state lives as long as it."""

    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are dropped after this

    def __init__(self, *args: Any, settings: ConnectionSettings, **kwargs: Any) -> None:
        self.settings = settings
        self._ntlm: NtlmAcceptor | None = None
        super().__init__(*args, **kwargs)

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle and
        # the client's delayed ACK add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_POST(self) -> None:
        """Authenticate, then answer one WS-Management message."""
        body = self._read_body()
        if body is None:
            return
        self.settings.count("requests")
        if self.path.split("?", 1)[0].rstrip("/").lower() != WSMAN_PATH:
            self._respond(404, b"", content_type="text/plain")
            return
        user = self._authenticate()
        if user is not None:
            self._serve(body, user)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._respond(411, b"", content_type="text/plain")
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self.close_connection = True
            self._respond(400, b"", content_type="text/plain")
            return None
        return self.rfile.read(length)

    def _authenticate(self) -> str | None:
        """Return the authenticated user, or None once a 401 has been sent."""
        header = self.headers.get("Authorization")
        if header is None:
            if self._ntlm is not None and self._ntlm.complete:
                return self._ntlm.username
            self._unauthorized()
            return None
        scheme, value = parse_authorization(header)
        try:
            if scheme == "basic" and BASIC in self.settings.methods:
                return check_basic(value, self.settings.credentials)
            if scheme in NTLM_SCHEMES and NTLM in self.settings.methods:
                return self._ntlm_step(header.split(" ", 1)[0], value)
            if scheme == MUTUAL_TLS_PROFILE and CERTIFICATE in self.settings.methods:
                return check_client_certificate(
                    self._peer_certificate(), self.settings.cert_subject, self.settings.credentials
                )
        except AuthenticationFailed as exc:
            log.info("WinRM twin rejected %s: %s", self.address_string(), exc)
            self._ntlm = None
            self._unauthorized()
            return None
        self._unauthorized()
        return None

    def _peer_certificate(self) -> bytes | None:
        """The client's certificate (DER), verified by the TLS handshake, if it sent one."""
        if not isinstance(self.connection, ssl.SSLSocket):
            return None
        return self.connection.getpeercert(binary_form=True)

    def _ntlm_step(self, scheme: str, token: str) -> str | None:
        if self._ntlm is None or self._ntlm.complete:
            assert self.settings.ntlm_user_file is not None
            self._ntlm = NtlmAcceptor(self.settings.ntlm_user_file, self.settings.channel_bindings)
        reply = self._ntlm.step(token)
        if self._ntlm.complete:
            return self._ntlm.username
        # Answer in the scheme the client used: requests_ntlm looks for it verbatim.
        self._respond(401, b"", extra_headers=[("WWW-Authenticate", f"{scheme} {reply or ''}")])
        return None

    def _unauthorized(self) -> None:
        self.settings.count("unauthorized")
        headers = [
            ("WWW-Authenticate", value) for value in challenge_headers(self.settings.methods)
        ]
        self._respond(401, b"", extra_headers=headers)

    def _serve(self, body: bytes, user: str) -> None:
        encrypted = encryption.is_encrypted(self.headers.get("Content-Type", ""))
        if encrypted:
            plaintext = self._decrypt(body)
            if plaintext is None:
                return
            body = plaintext
            self.settings.count("encrypted_requests")
        if not body:
            # pywinrm posts an empty body right after NTLM to set up encryption.
            self._respond(200, b"")
            return
        status, payload = self._dispatch(body, user)
        if encrypted and self._ntlm is not None:
            payload = encryption.encrypt(payload, self._ntlm.context)
            self._respond(status, payload, content_type=encryption.CONTENT_TYPE)
        else:
            self._respond(status, payload)

    def _decrypt(self, body: bytes) -> bytes | None:
        """Return the plaintext, or None after answering 400."""
        if self._ntlm is None or not self._ntlm.complete:
            self._respond(400, b"", content_type="text/plain")
            return None
        try:
            return encryption.decrypt(body, self._ntlm.context)
        except encryption.EncryptionError as exc:
            log.info("WinRM twin got an undecryptable body: %s", exc)
            self._respond(400, b"", content_type="text/plain")
            return None

    def _dispatch(self, body: bytes, user: str) -> tuple[int, bytes]:
        relates_to = None
        try:
            request = parse_request(body)
            relates_to = request.message_id
            assert self.settings.service is not None
            return 200, self.settings.service.dispatch(request, user)
        except WsmanFault as fault:
            log.info("WinRM twin fault %s: %s", fault.subcode, fault.detail)
            return 500, fault_envelope(fault, relates_to, self.settings.machine)

    def _respond(
        self,
        status: int,
        payload: bytes,
        *,
        content_type: str = SOAP_CONTENT_TYPE,
        extra_headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in extra_headers or []:
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
