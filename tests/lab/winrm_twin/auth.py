"""HTTP authentication for the WinRM twin: Basic, NTLM via pyspnego, and client
certificates (TLS client authentication, then the certificate mapped to the account).

NTLM is connection-bound: a `NtlmAcceptor` lives on one TCP connection and,
once complete, authenticates every later request on it and provides the
session keys for WinRM message encryption.

pyspnego's NTLM acceptor can only verify passwords found in the flat file
named by the process-wide `NTLM_USER_FILE` environment variable, read while
the context is created and while the client's AUTHENTICATE message is
checked. To give every twin its own credentials, each twin owns a private
user file (`NtlmUserFile`) and each acceptor step runs with `NTLM_USER_FILE`
pointing at it, under a module lock, restoring the previous value afterwards.
Code elsewhere in the process that relies on `NTLM_USER_FILE` may therefore
see it change briefly while a twin authenticates a client.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import spnego
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from spnego.channel_bindings import GssChannelBindings

from .ca import client_upn, has_client_auth_usage

log = logging.getLogger(__name__)

BASIC = "basic"
NTLM = "ntlm"
CERTIFICATE = "certificate"
SUPPORTED_METHODS = frozenset({BASIC, NTLM, CERTIFICATE})
# The Authorization value a client sends to ask for certificate authentication
# (WS-Management's mutual TLS security profile); pywinrm sends exactly this.
MUTUAL_TLS_PROFILE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"
# Schemes a client may use to carry an NTLM token; Windows advertises Negotiate.
NTLM_SCHEMES = frozenset({"negotiate", "ntlm"})
_NTLM_SIGNATURE = b"NTLMSSP\x00"
_USER_FILE_ENV = "NTLM_USER_FILE"
_user_file_env_lock = threading.Lock()


class AuthenticationFailed(Exception):
    """The client's credentials or token were rejected (answer HTTP 401)."""


@dataclass(frozen=True)
class Credentials:
    """The one account a twin accepts, as `user`, `DOMAIN\\user` or `user@domain`.

    Names compare case-insensitively, as on Windows. A bare `user` is a local
    account and also matches `.\\user`; a `DOMAIN\\user` needs that domain.
    Basic and NTLM apply the same rules.
    """

    username: str
    password: str

    @property
    def user(self) -> str:
        """The name without its domain."""
        return self.username.rpartition("\\")[2]

    @property
    def domains(self) -> tuple[str, ...]:
        """The domain parts a client may put before the user name."""
        domain, sep, _ = self.username.rpartition("\\")
        return (domain,) if sep else ("", ".")

    def matches(self, username: str, password: str) -> bool:
        """Return True if `username`/`password` identify this account."""
        domain, _, user = username.rpartition("\\")
        same_user = user.casefold() == self.user.casefold() and domain.casefold() in {
            own.casefold() for own in self.domains
        }
        same_password = hmac.compare_digest(password.encode(), self.password.encode())
        return same_user and same_password


def challenge_headers(methods: tuple[str, ...]) -> list[str]:
    """Return the `WWW-Authenticate` values a 401 advertises, like Windows."""
    headers = []
    if NTLM in methods:
        headers.append("Negotiate")
    if BASIC in methods:
        headers.append('Basic realm="WSMAN"')
    return headers


def parse_authorization(value: str) -> tuple[str, str]:
    """Split an `Authorization` header into `(lower-case scheme, credentials)`."""
    scheme, _, rest = value.strip().partition(" ")
    return scheme.lower(), rest.strip()


def check_basic(encoded: str, credentials: Credentials) -> str:
    """Return the username of valid Basic credentials; raise AuthenticationFailed."""
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise AuthenticationFailed("malformed Basic credentials") from exc
    username, sep, password = decoded.partition(":")
    if not sep or not credentials.matches(username, password):
        raise AuthenticationFailed(f"Basic credentials rejected for {username!r}")
    return username


def check_client_certificate(der: bytes | None, subject: str, credentials: Credentials) -> str:
    """Return the account a verified client certificate maps to; raise
    AuthenticationFailed.

    The TLS layer has already checked the chain against the CA the twin trusts for
    client authentication (the mapping's issuer). As Windows' ClientCertificate
    mapping does, the certificate must allow Client Authentication and carry the
    mapping's subject as its user principal name (case-insensitive).
    """
    if der is None:
        raise AuthenticationFailed("certificate authentication without a client certificate")
    cert = x509.load_der_x509_certificate(der)
    if not has_client_auth_usage(cert):
        raise AuthenticationFailed("client certificate lacks Client Authentication usage")
    upn = client_upn(cert)
    if upn is None or upn.casefold() != subject.casefold():
        raise AuthenticationFailed(f"no certificate mapping for {upn!r}")
    return credentials.user


class NtlmUserFile:
    """A private NTLM user file holding one twin's account, mode 0600.

    It has one `DOMAIN:USER:PASSWORD` line per domain form the account
    accepts (see `Credentials`), since pyspnego matches domains exactly.
    """

    def __init__(self, credentials: Credentials) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="winrm-twin-ntlm-"))
        self.path = self._dir / "users"
        lines = "".join(
            f"{domain}:{credentials.user}:{credentials.password}\n"
            for domain in credentials.domains
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(lines)

    def remove(self) -> None:
        """Delete the file and its private directory."""
        shutil.rmtree(self._dir, ignore_errors=True)


@contextmanager
def _user_file_in_env(user_file: NtlmUserFile) -> Iterator[None]:
    with _user_file_env_lock:
        previous = os.environ.get(_USER_FILE_ENV)
        os.environ[_USER_FILE_ENV] = str(user_file.path)
        try:
            yield
        finally:
            if previous is None:
                del os.environ[_USER_FILE_ENV]
            else:
                os.environ[_USER_FILE_ENV] = previous


class NtlmAcceptor:
    """Server side of one NTLM handshake (and then session) on one connection."""

    def __init__(
        self, user_file: NtlmUserFile, channel_bindings: GssChannelBindings | None
    ) -> None:
        self._user_file = user_file
        with _user_file_in_env(user_file):
            self.context = spnego.server(
                protocol="ntlm",
                options=spnego.NegotiateOptions.use_ntlm,
                channel_bindings=channel_bindings,
            )

    @property
    def complete(self) -> bool:
        """True once the client has proven its password."""
        return bool(self.context.complete)

    @property
    def username(self) -> str:
        """The authenticated `DOMAIN\\user` (or `user`) once complete."""
        return str(self.context.client_principal or "")

    def step(self, encoded_token: str) -> str | None:
        """Process a base64 NTLM token; return the base64 reply token, if any.

        Raises AuthenticationFailed for anything but a valid NEGOTIATE or
        AUTHENTICATE message with the right password (and channel binding).
        """
        try:
            token = base64.b64decode(encoded_token, validate=True)
        except binascii.Error as exc:
            raise AuthenticationFailed("malformed NTLM token") from exc
        if not token.startswith(_NTLM_SIGNATURE):
            raise AuthenticationFailed("only raw NTLM tokens are supported, not SPNEGO/Kerberos")
        try:
            with _user_file_in_env(self._user_file):
                reply = self.context.step(token)
        except Exception as exc:
            # pyspnego signals a wrong password, unknown user, bad channel binding
            # or garbled message with assorted exception types; all mean 401.
            raise AuthenticationFailed(f"NTLM authentication failed: {exc}") from exc
        return base64.b64encode(reply).decode("ascii") if reply else None


def tls_channel_bindings(cert_path: str | os.PathLike[str]) -> GssChannelBindings:
    """Return the `tls-server-end-point` channel bindings (RFC 5929) for a certificate.

    NTLM clients over HTTPS (requests_ntlm with send_cbt) bind their response to
    this hash; checking it is what Windows does with CbtHardeningLevel=Strict.
    """
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or algorithm.name in ("md5", "sha1"):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(cert.public_bytes(Encoding.DER))
    return GssChannelBindings(application_data=b"tls-server-end-point:" + digest.finalize())
