"""A throwaway certificate authority for the WinRM twin's HTTPS listener.

`make_ca` creates (or reuses) a CA certificate and key in a directory;
`issue_server_cert` signs a server certificate for loopback names with it.
Clients trust the twin by pointing at the CA certificate, exactly as they would
trust a Windows host's WinRM HTTPS listener issued by an internal CA.
`issue_client_cert` signs a client certificate for WinRM certificate
authentication, shaped as Windows wants one: Client Authentication usage and
the account's user principal name (UPN) as a subject alternative name.

Files already in the directory are reused when they are still valid, so
repeated lab runs do not pay for key generation. Key files are mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# szOID_NT_PRINCIPAL_NAME: the otherName Windows maps a client certificate by
UPN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
CA_CERT_NAME = "ca.pem"
CA_KEY_NAME = "ca.key"

_CA_LIFETIME = dt.timedelta(days=3650)
_SERVER_LIFETIME = dt.timedelta(days=397)
# Reissue well before expiry so a long-lived lab directory never serves a
# certificate that expires in the middle of a run.
_RENEW_MARGIN = dt.timedelta(days=7)
# Tolerate clocks that are slightly behind when the certificate is first used.
_BACKDATE = dt.timedelta(hours=1)


def make_ca(directory: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Return `(ca_cert_path, ca_key_path)` for a test CA in `directory`.

    Reuses `ca.pem`/`ca.key` when they form a valid, unexpired CA pair;
    otherwise generates a new ECDSA P-256 CA and overwrites them.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / CA_CERT_NAME, folder / CA_KEY_NAME
    if _existing_ca_is_valid(cert_path, key_path):
        return cert_path, key_path

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Osiris WinRM twin test CA")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return cert_path, key_path


def issue_server_cert(
    ca_cert_path: str | os.PathLike[str],
    ca_key_path: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    hostnames: Sequence[str] = ("localhost",),
    ips: Sequence[str] = ("127.0.0.1",),
    *,
    name: str = "server",
) -> tuple[Path, Path]:
    """Return `(cert_path, key_path)` of a server certificate signed by the CA.

    The certificate carries exactly `hostnames` and `ips` as subject
    alternative names. `<name>.pem`/`<name>.key` in `directory` are reused
    when issued by this CA for the same names and not about to expire.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    ca_cert = x509.load_pem_x509_certificate(Path(ca_cert_path).read_bytes())
    san = x509.SubjectAlternativeName(
        [x509.DNSName(host) for host in hostnames]
        + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    )
    if _existing_server_cert_is_valid(cert_path, key_path, ca_cert, san):
        return cert_path, key_path

    ca_key = serialization.load_pem_private_key(Path(ca_key_path).read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_key_path} is not an EC key made by make_ca()")
    key = ec.generate_private_key(ec.SECP256R1())
    common_name = hostnames[0] if hostnames else ips[0]
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _SERVER_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(san, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return cert_path, key_path


def issue_client_cert(
    ca_cert_path: str | os.PathLike[str],
    ca_key_path: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    upn: str,
    *,
    name: str = "client",
) -> tuple[Path, Path]:
    """Return `(cert_path, key_path)` of a client certificate for `upn` (e.g.
    `osiris@localhost`), signed by the CA. Always newly issued."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    ca_cert = x509.load_pem_x509_certificate(Path(ca_cert_path).read_bytes())
    ca_key = serialization.load_pem_private_key(Path(ca_key_path).read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_key_path} is not an EC key made by make_ca()")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, upn.split("@")[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _SERVER_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.OtherName(UPN_OID, _der_utf8(upn))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return cert_path, key_path


def client_upn(cert: x509.Certificate) -> str | None:
    """The user principal name a client certificate carries, if exactly one."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    names = [n.value for n in san.get_values_for_type(x509.OtherName) if n.type_id == UPN_OID]
    if len(names) != 1:
        return None
    return _from_der_utf8(names[0])


def has_client_auth_usage(cert: x509.Certificate) -> bool:
    """True if the certificate may authenticate a client (Extended Key Usage)."""
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in usages


def _der_utf8(text: str) -> bytes:
    """A DER UTF8String (the UPN's encoding inside its otherName)."""
    data = text.encode("utf-8")
    if len(data) < 0x80:
        return bytes([0x0C, len(data)]) + data
    size = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(size)]) + size + data


def _from_der_utf8(der: bytes) -> str | None:
    if len(der) < 2 or der[0] != 0x0C:
        return None
    length, start = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, start = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    if start + length != len(der):
        return None
    try:
        return der[start:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _existing_ca_is_valid(cert_path: Path, key_path: Path) -> bool:
    loaded = _load_pair(cert_path, key_path)
    if loaded is None:
        return False
    cert, _ = loaded
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        cert.verify_directly_issued_by(cert)
    except (x509.ExtensionNotFound, InvalidSignature, ValueError, TypeError):
        return False
    return constraints.ca


def _existing_server_cert_is_valid(
    cert_path: Path, key_path: Path, ca_cert: x509.Certificate, san: x509.SubjectAlternativeName
) -> bool:
    loaded = _load_pair(cert_path, key_path)
    if loaded is None:
        return False
    cert, _ = loaded
    try:
        cert.verify_directly_issued_by(ca_cert)
        current = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, InvalidSignature, ValueError, TypeError):
        return False
    return set(current) == set(san)


def _load_pair(
    cert_path: Path, key_path: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """Load a matching, unexpired certificate and EC key, or None if unusable."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if cert.public_key() != key.public_key():
        return None
    if cert.not_valid_after_utc - _RENEW_MARGIN < _now():
        return None
    return cert, key


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _atomic_write(path, pem, mode=0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    _atomic_write(path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def _atomic_write(path: Path, data: bytes, *, mode: int) -> None:
    # Write-then-rename so a concurrent lab run never reads a half-written file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(fd, mode)  # the umask may have narrowed it, or the file pre-existed
        handle.write(data)
    os.replace(tmp, path)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
