"""A WinRM "twin": a real WS-Management server on loopback for tests.

Windows cannot run in this lab, so this server stands in for a Windows host's
WinRM service: the real, unmodified pywinrm client (and anything built on it)
talks to it over HTTP or HTTPS with Basic or NTLM authentication, including
NTLM message encryption on plain HTTP, or over HTTPS with a client certificate
(a real TLS client authentication against the CA the twin trusts for it). It
implements the WinRS shell operations (Create, Command, Send, Receive, Signal,
Delete) and answers like Windows does, faults included. It knows nothing about Windows itself: every
command is handed to a pluggable `CommandHandler` that decides the output.

    twin = TwinServer(handler, username="vagrant", password="pw", tls=(cert, key))
    with twin:
        winrm.Session(twin.endpoint, auth=("vagrant", "pw"), transport="ntlm", ...)

It only ever binds to a loopback address. `serve_forever()` runs it in the
foreground, for a separate process.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import os
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any

from .auth import (
    CERTIFICATE,
    NTLM,
    SUPPORTED_METHODS,
    Credentials,
    NtlmUserFile,
    tls_channel_bindings,
)
from .commands import CommandHandler, StdinCommandHandler, decode_powershell
from .connection import ConnectionSettings, WsmanRequestHandler
from .winrs import WinrsService

__all__ = [
    "CommandHandler",
    "StdinCommandHandler",
    "TwinServer",
    "TwinStats",
    "decode_powershell",
]

log = logging.getLogger(__name__)

# whether a new connection over "http" or "https" gets in (False: reset at once)
Admit = Callable[[str], bool]


@dataclass(frozen=True)
class TwinStats:
    """Counters a test can assert on (e.g. that encryption was really used)."""

    requests: int
    encrypted_requests: int
    unauthorized: int  # 401s for missing or wrong credentials, not the NTLM challenge
    refused: int = 0  # connections `admit` turned away
    tls_failures: int = 0  # TLS handshakes that failed (e.g. a client certificate refused)


class _TwinHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        settings: ConnectionSettings,
        ssl_context: ssl.SSLContext | None,
        admit: Admit | None = None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.settings = settings
        self._ssl_context = ssl_context
        self._admit = admit
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, functools.partial(WsmanRequestHandler, settings=settings))

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup; loopback needs none.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Runs in the connection's own thread, so a slow TLS handshake never
        # stalls the accept loop.
        raw: socket.socket = request
        scheme = "http" if self._ssl_context is None else "https"
        if self._admit is not None and not self._admit(scheme):
            # as a host whose WinRM is cut off: the connection is reset before any byte
            self.settings.count("refused")
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()
            return
        raw.settimeout(WsmanRequestHandler.timeout)
        self._track(raw, add=True)
        connection = raw
        try:
            if self._ssl_context is not None:
                connection = self._ssl_context.wrap_socket(raw, server_side=True)
                self._track(connection, add=True)
            super().finish_request(connection, client_address)
        except ssl.SSLError as exc:
            self.settings.count("tls_failures")
            log.info("TLS with %s failed: %s", client_address, exc)
        except OSError as exc:
            log.debug("connection from %s failed: %s", client_address, exc)
        finally:
            self._track(raw, add=False)
            if connection is not raw:
                self._track(connection, add=False)
                connection.close()

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Unblock and end every open keep-alive connection."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            # The plain socket method: SSLSocket.shutdown would tear down the TLS
            # object under the thread still reading from it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Network errors are handled in finish_request; anything else is a twin bug.
        log.error("WinRM twin failed serving %s", client_address, exc_info=True)


class TwinServer:
    """A WinRM endpoint at `https://127.0.0.1:PORT/wsman` (or http) for tests.

    `handler` runs every command; calls are serialised per twin, so a handler
    need not be thread-safe. The twin accepts exactly one account,
    `username`/`password` (username case-insensitive). `tls` is a
    `(cert_path, key_path)` pair for HTTPS; without it the twin speaks HTTP.
    `auth` lists the accepted methods, "basic" and/or "ntlm". NTLM over HTTP
    supports (but does not demand) WinRM message encryption; over HTTPS the
    NTLM response must carry the TLS channel binding, as pywinrm sends it.
    `admit`, when given, is asked for every new connection whether it gets in
    ("http" or "https"); one it refuses is reset at once, as by a host whose
    firewall or WinRM service cuts the client off.

    `client_ca` turns on certificate authentication (HTTPS only; add
    "certificate" to `auth`): the TLS handshake asks for a client certificate
    and refuses one not issued by that CA; a request asking for the mutual TLS
    profile is then authenticated when its certificate maps to the account, as
    a Windows ClientCertificate mapping does: Client Authentication usage and
    `cert_subject` (default `USER@localhost`) as its user principal name.
    """

    def __init__(
        self,
        handler: CommandHandler,
        *,
        username: str,
        password: str,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
        auth: Sequence[str] = ("basic", "ntlm"),
        admit: Admit | None = None,
        client_ca: str | os.PathLike[str] | None = None,
        cert_subject: str | None = None,
    ) -> None:
        _require_loopback(host)
        methods = tuple(method.lower() for method in auth)
        if not methods or not set(methods) <= SUPPORTED_METHODS:
            raise ValueError(f"auth must be a non-empty subset of {sorted(SUPPORTED_METHODS)}")
        if (CERTIFICATE in methods) != (client_ca is not None) or (client_ca and tls is None):
            raise ValueError("certificate auth needs tls and client_ca; client_ca is for it alone")
        self._handler = handler
        self._credentials = Credentials(username, password)
        self._host = host
        self._requested_port = port
        self._tls = tls
        self._methods = methods
        self._admit = admit
        self._client_ca = client_ca
        self._cert_subject = cert_subject or f"{self._credentials.user}@localhost"
        self._httpd: _TwinHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._user_file: NtlmUserFile | None = None
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        """The bound TCP port (only known once started when created with port=0)."""
        if self._httpd is None:
            raise RuntimeError("TwinServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def endpoint(self) -> str:
        """The URL to give pywinrm, e.g. `https://127.0.0.1:PORT/wsman`."""
        return _endpoint(self._host, self.port, tls=self._tls is not None)

    @property
    def stats(self) -> TwinStats:
        """Request counters since start."""
        if self._httpd is None:
            return TwinStats(0, 0, 0)
        counters = self._httpd.settings.counters
        return TwinStats(
            counters["requests"],
            counters["encrypted_requests"],
            counters["unauthorized"],
            counters["refused"],
            counters["tls_failures"],
        )

    def start(self) -> TwinServer:
        """Bind and serve in a background daemon thread; return self."""
        if self._httpd is not None:
            raise RuntimeError("TwinServer is already started")
        self._stopped.clear()
        self._httpd = self._bind()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"winrm-twin-{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("WinRM twin listening on %s", self.endpoint)
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and forget all shells. Idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.close_connections()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._user_file is not None:
            self._user_file.remove()
            self._user_file = None
        self._stopped.set()

    def serve_forever(self) -> None:
        """Serve in the foreground; return after `stop()` (e.g. from a SIGTERM
        handler) or Ctrl-C (SIGINT), with the twin stopped.

        Starts the twin unless already started, so a caller can `start()`,
        publish `port`/`endpoint`, then block here.
        """
        if self._httpd is None:
            self.start()
        try:
            # Waiting in short slices keeps the main thread responsive to signals.
            while not self._stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            log.info("WinRM twin on %s interrupted", self.endpoint)
        finally:
            self.stop()

    def __enter__(self) -> TwinServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _bind(self) -> _TwinHTTPServer:
        ssl_context = None
        channel_bindings = None
        if self._tls is not None:
            cert_path, key_path = self._tls
            ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ssl_context.load_cert_chain(cert_path, key_path)
            channel_bindings = tls_channel_bindings(cert_path)
            if self._client_ca is not None:
                # Optional, so Basic and NTLM clients still get in without one; a
                # certificate that is sent must chain to client_ca or the handshake fails.
                ssl_context.verify_mode = ssl.CERT_OPTIONAL
                ssl_context.load_verify_locations(cafile=self._client_ca)
        if NTLM in self._methods and self._user_file is None:
            self._user_file = NtlmUserFile(self._credentials)
        settings = ConnectionSettings(
            credentials=self._credentials,
            methods=self._methods,
            ntlm_user_file=self._user_file,
            channel_bindings=channel_bindings,
            machine=self._host,
            cert_subject=self._cert_subject,
        )
        httpd = _TwinHTTPServer(
            (self._host, self._requested_port), settings, ssl_context, self._admit
        )
        endpoint = _endpoint(self._host, int(httpd.server_address[1]), tls=ssl_context is not None)
        settings.service = WinrsService(self._handler, endpoint=endpoint)
        return httpd


def _endpoint(host: str, port: int, *, tls: bool) -> str:
    bracketed = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{bracketed}:{port}/wsman"


def _require_loopback(host: str) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError as exc:
        raise ValueError(
            f"host must be a loopback IP literal such as 127.0.0.1, not {host!r}"
        ) from exc
    if not address.is_loopback:
        raise ValueError(f"the WinRM twin only binds to loopback addresses, not {host!r}")
