"""WinRM message encryption over HTTP with an NTLM session ([MS-WSMV] 2.2.9.1.1).

The body is a pseudo-MIME `multipart/encrypted` document: a part announcing
the original length, then `application/octet-stream` holding a 4-byte
little-endian signature length, the signature, and the sealed message. This
is the server-side mirror of pywinrm's `winrm/encryption.py`.
"""

from __future__ import annotations

import re
import struct

from spnego import ContextProxy

PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL}";boundary="Encrypted Boundary"'
_BOUNDARY = b"--Encrypted Boundary"
_OCTET_STREAM = b"\tContent-Type: application/octet-stream\r\n"
_LENGTH = re.compile(rb"OriginalContent: type=[^\r\n]*?Length=(\d+)\r\n")


class EncryptionError(Exception):
    """The encrypted body is malformed or fails its integrity check (HTTP 400)."""


def is_encrypted(content_type: str) -> bool:
    """True if a Content-Type announces an NTLM/SPNEGO-encrypted WinRM body."""
    lowered = content_type.lower()
    return lowered.startswith("multipart/encrypted") and PROTOCOL.lower() in lowered


def decrypt(body: bytes, context: ContextProxy) -> bytes:
    """Return the plaintext SOAP message of an encrypted request body."""
    message = bytearray()
    position = 0
    while match := _LENGTH.search(body, position):
        length = int(match.group(1))
        start = body.find(_OCTET_STREAM, match.end())
        if start < 0:
            raise EncryptionError("encrypted part has no application/octet-stream section")
        start += len(_OCTET_STREAM)
        if start + 4 > len(body):
            raise EncryptionError("encrypted part is truncated before its signature")
        (signature_length,) = struct.unpack_from("<I", body, start)
        signature_end = start + 4 + signature_length
        # NTLM seals with RC4, a stream cipher: the sealed data is as long as the plaintext.
        sealed = body[signature_end : signature_end + length]
        if len(sealed) != length:
            raise EncryptionError("encrypted part is shorter than its announced length")
        try:
            message += context.unwrap_winrm(body[start + 4 : signature_end], sealed)
        except Exception as exc:
            raise EncryptionError(f"cannot unwrap encrypted part: {exc}") from exc
        position = signature_end + length
    if position == 0:
        raise EncryptionError("no encrypted part found in body")
    return bytes(message)


def encrypt(message: bytes, context: ContextProxy) -> bytes:
    """Return the encrypted body for a response (send it with CONTENT_TYPE)."""
    wrapped = context.wrap_winrm(message)
    return b"".join(
        [
            _BOUNDARY,
            b"\r\n\tContent-Type: ",
            PROTOCOL.encode(),
            b"\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=",
            str(len(message)).encode(),
            b"\r\n",
            _BOUNDARY,
            b"\r\n",
            _OCTET_STREAM,
            struct.pack("<I", len(wrapped.header)),
            wrapped.header,
            wrapped.data,
            _BOUNDARY,
            b"--\r\n",
        ]
    )
