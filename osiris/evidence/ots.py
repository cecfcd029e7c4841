"""OpenTimestamps proofs: the .ots format, read, written and replayed offline.

Written from the OpenTimestamps format (as python-opentimestamps and the calendar
server define it); only what Osiris needs: SHA-256, append and prepend operations,
pending (calendar URL) and Bitcoin block-header attestations; unknown attestations are
kept as they are.

A detached timestamp file is::

    magic (31 bytes) | major version 1 | file hash op (0x08 sha256) | file digest (32)
    | timestamp

and a timestamp is a tree: from a message, each edge an operation giving the next
message, each leaf an attestation that the message there existed by some time. Nodes
are written depth first; ``0xff`` precedes every branch but the last; ``0x00`` starts
an attestation (an 8-byte tag and a length-prefixed payload); any other byte is an
operation (``0x08`` sha256, ``0xf0`` append and ``0xf1`` prepend with a length-prefixed
argument). Integers are unsigned LEB128. A Bitcoin attestation says: the message here
is the merkle root of the block at this height (as the header stores it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from osiris.errors import OsirisError

MAGIC = b"\x00OpenTimestamps\x00\x00Proof\x00\xbf\x89\xe2\xe8\x84\xe8\x92\x94"
MAJOR_VERSION = 1
SHA256, APPEND, PREPEND = 0x08, 0xF0, 0xF1
PENDING = bytes.fromhex("83dfe30d2ef90c8e")
BITCOIN = bytes.fromhex("0588960d73d71901")
MAX_MESSAGE = 4096
MAX_PAYLOAD = 8192
MAX_URI = 1000
MAX_DEPTH = 256
_URI_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._/:")


class OtsError(OsirisError, ValueError):
    """A proof that cannot be read, or an operation that cannot be applied."""


@dataclass(frozen=True, order=True)
class Op:
    """One edge: ``sha256``, or ``append``/``prepend`` with its argument."""

    tag: int
    arg: bytes = b""

    def __post_init__(self) -> None:
        if self.tag == SHA256 and self.arg:
            raise OtsError("sha256 takes no argument")
        if self.tag in (APPEND, PREPEND) and not 0 < len(self.arg) <= MAX_MESSAGE:
            raise OtsError(f"{self.name} needs an argument of 1 to {MAX_MESSAGE} bytes")
        if self.tag not in (SHA256, APPEND, PREPEND):
            raise OtsError(f"unsupported operation 0x{self.tag:02x}")

    @property
    def name(self) -> str:
        return {SHA256: "sha256", APPEND: "append", PREPEND: "prepend"}[self.tag]

    def __call__(self, message: bytes) -> bytes:
        if len(message) > MAX_MESSAGE:
            raise OtsError("message too long")
        if self.tag == SHA256:
            return hashlib.sha256(message).digest()
        result = message + self.arg if self.tag == APPEND else self.arg + message
        if len(result) > MAX_MESSAGE:
            raise OtsError("result too long")
        return result


@dataclass(frozen=True)
class Attestation:
    """A leaf: its 8-byte tag and raw payload (see :attr:`uri`, :attr:`height`)."""

    tag: bytes
    payload: bytes

    def sort_key(self) -> tuple[bytes, str, int, bytes]:
        """The order proofs are written in: by tag, then URL or height."""
        if self.kind == "pending":
            return self.tag, self.uri, 0, b""
        if self.kind == "bitcoin":
            return self.tag, "", self.height, b""
        return self.tag, "", 0, self.payload

    @classmethod
    def pending(cls, uri: str) -> Attestation:
        raw = uri.encode()
        if len(raw) > MAX_URI or not set(raw) <= _URI_CHARS:
            raise OtsError(f"calendar URL {uri!r} has characters a proof cannot hold")
        return cls(PENDING, _varbytes(raw))

    @classmethod
    def bitcoin(cls, height: int) -> Attestation:
        return cls(BITCOIN, _varuint(height))

    @property
    def kind(self) -> str:
        return {PENDING: "pending", BITCOIN: "bitcoin"}.get(self.tag, "unknown")

    @property
    def uri(self) -> str:
        """The calendar that promises to complete a pending attestation."""
        reader = _Reader(self.payload)
        raw = reader.varbytes(MAX_URI)
        reader.end()
        if not set(raw) <= _URI_CHARS:
            raise OtsError("pending attestation URL has characters a proof cannot hold")
        return raw.decode()

    @property
    def height(self) -> int:
        """The Bitcoin block height of a Bitcoin attestation."""
        reader = _Reader(self.payload)
        value = reader.varuint()
        reader.end()
        return value

    def describe(self) -> str:
        if self.kind == "pending":
            return f"pending at {self.uri}"
        if self.kind == "bitcoin":
            return f"Bitcoin block {self.height}"
        return f"unknown attestation {self.tag.hex()}"


@dataclass
class Timestamp:
    """Proof that attestations commit to ``message`` (see the module docstring)."""

    message: bytes
    attestations: set[Attestation] = field(default_factory=set)
    ops: dict[Op, Timestamp] = field(default_factory=dict)

    def then(self, op: Op) -> Timestamp:
        """The child reached by ``op`` (made if missing)."""
        if op not in self.ops:
            self.ops[op] = Timestamp(op(self.message))
        return self.ops[op]

    def merge(self, other: Timestamp) -> None:
        """Add every attestation and branch of ``other`` (for the same message)."""
        if other.message != self.message:
            raise OtsError("cannot merge timestamps of different messages")
        self.attestations |= other.attestations
        for op, child in other.ops.items():
            self.then(op).merge(child)

    def leaves(self) -> Iterator[tuple[Timestamp, Attestation]]:
        """Every attestation with the node (message) it attests, depth first."""
        for attestation in sorted(self.attestations, key=Attestation.sort_key):
            yield self, attestation
        for _, child in sorted(self.ops.items()):
            yield from child.leaves()

    def to_bytes(self) -> bytes:
        out = bytearray()
        self._write(out)
        return bytes(out)

    def _write(self, out: bytearray) -> None:
        attestations = sorted(self.attestations, key=Attestation.sort_key)
        ops = sorted(self.ops.items())
        if not attestations and not ops:
            raise OtsError("an empty timestamp cannot be written")
        branches = len(attestations) + len(ops)
        for attestation in attestations:
            branches -= 1
            out += b"\xff\x00" if branches else b"\x00"
            out += attestation.tag + _varbytes(attestation.payload)
        for op, child in ops:
            branches -= 1
            if branches:
                out += b"\xff"
            out.append(op.tag)
            if op.tag != SHA256:
                out += _varbytes(op.arg)
            child._write(out)

    @classmethod
    def from_bytes(cls, data: bytes, message: bytes) -> Timestamp:
        """Read a timestamp (as a calendar sends one) for ``message``."""
        reader = _Reader(data)
        timestamp = cls._read(reader, message, MAX_DEPTH)
        reader.end()
        return timestamp

    @classmethod
    def _read(cls, reader: _Reader, message: bytes, depth: int) -> Timestamp:
        if not depth:
            raise OtsError("timestamp nested too deeply")
        node = cls(message)
        tag = reader.byte()
        while tag == 0xFF:
            node._read_branch(reader, reader.byte(), depth)
            tag = reader.byte()
        node._read_branch(reader, tag, depth)
        return node

    def _read_branch(self, reader: _Reader, tag: int, depth: int) -> None:
        if tag == 0x00:
            self.attestations.add(Attestation(reader.take(8), reader.varbytes(MAX_PAYLOAD)))
            return
        if tag not in (SHA256, APPEND, PREPEND):
            raise OtsError(f"unsupported operation 0x{tag:02x}")
        op = Op(tag, b"" if tag == SHA256 else reader.varbytes(MAX_MESSAGE, minimum=1))
        self.ops[op] = Timestamp._read(reader, op(self.message), depth - 1)


@dataclass
class TimestampFile:
    """A detached timestamp (.ots file): the SHA-256 digest of a file, and its proof."""

    timestamp: Timestamp

    @property
    def digest(self) -> bytes:
        return self.timestamp.message

    def to_bytes(self) -> bytes:
        return MAGIC + bytes([MAJOR_VERSION, SHA256]) + self.digest + self.timestamp.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> TimestampFile:
        reader = _Reader(data)
        if reader.take(len(MAGIC)) != MAGIC:
            raise OtsError("not an OpenTimestamps proof (bad magic)")
        if (version := reader.varuint()) != MAJOR_VERSION:
            raise OtsError(f"unsupported .ots major version {version}")
        if (hash_op := reader.byte()) != SHA256:
            raise OtsError(f"file hash 0x{hash_op:02x} is not sha256")
        digest = reader.take(32)
        timestamp = Timestamp._read(reader, digest, MAX_DEPTH)
        reader.end()
        return cls(timestamp)

    @property
    def complete(self) -> bool:
        """Whether some attestation is a Bitcoin one."""
        return any(a.kind == "bitcoin" for _, a in self.timestamp.leaves())


def merkle_root_of_header(header: bytes) -> bytes:
    """The merkle root field of an 80-byte Bitcoin block header, as stored (the byte
    order a Bitcoin attestation's message must equal)."""
    if len(header) != 80:
        raise OtsError(f"a Bitcoin block header is 80 bytes, not {len(header)}")
    return header[36:68]


def block_hash(header: bytes) -> str:
    """The block hash of a header as explorers show it (double SHA-256, reversed)."""
    return hashlib.sha256(hashlib.sha256(header).digest()).digest()[::-1].hex()


def block_time(header: bytes) -> int:
    """The header's timestamp (seconds since the epoch)."""
    return int.from_bytes(header[68:72], "little")


def _varuint(value: int) -> bytes:
    if value < 0:
        raise OtsError("negative integer")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _varbytes(data: bytes) -> bytes:
    return _varuint(len(data)) + data


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise OtsError("proof is truncated")
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def varuint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise OtsError("integer too large")

    def varbytes(self, maximum: int, minimum: int = 0) -> bytes:
        length = self.varuint()
        if not minimum <= length <= maximum:
            raise OtsError(f"length {length} outside {minimum}..{maximum}")
        return self.take(length)

    def end(self) -> None:
        if self.at != len(self.data):
            raise OtsError("trailing bytes after the proof")
