"""OpenTimestamps: the .ots format, the calendar protocol against a local stub, replay.

:class:`CalendarStub` is a test-only OpenTimestamps calendar on 127.0.0.1 (also used by
tests/cli). It writes its answers with its own few lines of encoding, not with
osiris.evidence.ots, so the two check each other against the format.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from osiris.evidence.anchor import AnchorError, fetch, note_digest, stamp, submit, upgrade
from osiris.evidence.anchors_check import BlockHeader, read_block_headers
from osiris.evidence.ots import (
    APPEND,
    BITCOIN,
    MAGIC,
    PENDING,
    PREPEND,
    SHA256,
    Attestation,
    Op,
    OtsError,
    Timestamp,
    TimestampFile,
    block_hash,
    merkle_root_of_header,
)

# --- a calendar stub, with its own minimal encoder --------------------------------


def leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


Step = tuple[int, bytes]  # (op tag, argument)


def encode_path(steps: list[Step], attestation: tuple[bytes, bytes]) -> bytes:
    """A linear timestamp: each op in turn, then one attestation."""
    out = bytearray()
    for tag, arg in steps:
        out.append(tag)
        if tag != SHA256:
            out += leb128(len(arg)) + arg
    kind, payload = attestation
    return bytes(out + b"\x00" + kind + leb128(len(payload)) + payload)


def apply_path(message: bytes, steps: list[Step]) -> bytes:
    for tag, arg in steps:
        if tag == SHA256:
            message = hashlib.sha256(message).digest()
        elif tag == APPEND:
            message += arg
        else:
            message = arg + message
    return message


class CalendarStub:
    """POST /digest answers a pending timestamp; GET /timestamp/<hex> answers 404 until
    :meth:`confirm` puts every pending commitment in a fake Bitcoin block, then the path
    from the commitment to that block's merkle root with a Bitcoin attestation."""

    def __init__(self) -> None:
        self.pending: dict[bytes, None] = {}
        self.confirmed: dict[bytes, bytes] = {}
        self.requests: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                stub.requests.append(f"POST {self.path}")
                digest = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != "/digest" or len(digest) > 64:
                    return self._send(400, b"bad request")
                steps = [
                    (PREPEND, b"stub-nonce"),
                    (SHA256, b""),
                    (APPEND, b"\x01\x02"),
                    (SHA256, b""),
                ]
                commitment = apply_path(digest, steps)
                stub.pending[commitment] = None
                payload = leb128(len(stub.url)) + stub.url.encode()
                self._send(200, encode_path(steps, (PENDING, payload)))

            def do_GET(self) -> None:
                stub.requests.append(f"GET {self.path}")
                commitment = bytes.fromhex(self.path.removeprefix("/timestamp/"))
                if commitment in stub.confirmed:
                    return self._send(200, stub.confirmed[commitment])
                self._send(404, b"Pending confirmation in Bitcoin blockchain")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def confirm(self, height: int, time: int = 1_700_000_000) -> bytes:
        """Mine every pending commitment into a block; returns its 80-byte header."""
        commitments = list(self.pending)
        prefix, suffix = b"\x01\x00\x00\x00fake-tx-in", b"fake-tx-out\x00\x00\x00\x00"
        level = [sha256d(prefix + c + suffix) for c in commitments]
        paths: list[list[Step]] = [
            [(PREPEND, prefix), (APPEND, suffix), (SHA256, b""), (SHA256, b"")] for _ in commitments
        ]
        positions = list(range(len(commitments)))
        while len(level) > 1:
            if len(level) % 2:
                level.append(level[-1])  # Bitcoin pairs the last hash with itself
            for n, at in enumerate(positions):
                sibling = level[at ^ 1]
                paths[n] += [
                    (APPEND if at % 2 == 0 else PREPEND, sibling),
                    (SHA256, b""),
                    (SHA256, b""),
                ]
                positions[n] = at // 2
            level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        root = level[0]
        for commitment, steps in zip(commitments, paths, strict=True):
            assert apply_path(commitment, steps) == root
            self.confirmed[commitment] = encode_path(steps, (BITCOIN, leb128(height)))
        self.pending.clear()
        return (
            struct.pack("<I", 0x20000000)
            + b"\x11" * 32
            + root
            + struct.pack("<III", time, 0x17034219, 12345)
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def calendar() -> Iterator[CalendarStub]:
    stub = CalendarStub()
    yield stub
    stub.close()


# --- the format -------------------------------------------------------------------


def test_a_hand_written_proof_reads_replays_and_writes_back_byte_for_byte() -> None:
    digest = hashlib.sha256(b"hello\n").digest()
    uri = b"https://alice.btc.calendar.opentimestamps.org"
    body = encode_path([(APPEND, b"\xaa" * 16), (SHA256, b"")], (PENDING, leb128(len(uri)) + uri))
    data = MAGIC + b"\x01\x08" + digest + body
    proof = TimestampFile.from_bytes(data)
    assert proof.digest == digest and not proof.complete
    ((node, attestation),) = list(proof.timestamp.leaves())
    assert node.message == hashlib.sha256(digest + b"\xaa" * 16).digest()
    assert attestation.kind == "pending" and attestation.uri == uri.decode()
    assert proof.to_bytes() == data


def test_branches_are_written_with_0xff_in_the_reference_order() -> None:
    root = Timestamp(b"\x00" * 32)
    tip = root.then(Op(SHA256))
    tip.attestations.add(Attestation.pending("https://b.example"))
    tip.attestations.add(Attestation.pending("https://a.example"))
    tip.attestations.add(Attestation.bitcoin(840_000))
    root.then(Op(APPEND, b"\x01")).attestations.add(Attestation.bitcoin(1))
    data = root.to_bytes()
    # bitcoin tag (05..) sorts before pending (83..); two branches at the root
    assert data.startswith(b"\xff\x08\xff\x00" + BITCOIN)
    again = Timestamp.from_bytes(data, b"\x00" * 32)
    assert again.to_bytes() == data
    kinds = [a.describe() for _, a in again.leaves()]
    assert kinds == [
        "Bitcoin block 840000",
        "pending at https://a.example",
        "pending at https://b.example",
        "Bitcoin block 1",
    ]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x00NotTimestamps" + b"\x00" * 40, "bad magic"),
        (MAGIC + b"\x02\x08" + b"\x00" * 32 + b"\x08\x00" + PENDING + b"\x01\x00", "version"),
        (MAGIC + b"\x01\x02" + b"\x00" * 20, "not sha256"),
        (MAGIC + b"\x01\x08" + b"\x00" * 32 + b"\x67", "unsupported operation 0x67"),
        (MAGIC + b"\x01\x08" + b"\x00" * 32 + b"\x08", "truncated"),
        (MAGIC + b"\x01\x08" + b"\x00" * 32 + b"\x00" + BITCOIN + b"\x01\x05\x00", "trailing"),
        (MAGIC + b"\x01\x08" + b"\x00" * 32 + b"\xf0\x00\x08", "length 0"),
    ],
)
def test_malformed_proofs_are_refused(data: bytes, error: str) -> None:
    with pytest.raises(OtsError, match=error):
        TimestampFile.from_bytes(data)


def test_block_headers_read_from_raw_bytes_or_hex_lines() -> None:
    header = bytes(range(80))
    assert merkle_root_of_header(header) == bytes(range(36, 68))
    assert read_block_headers(header * 2) == [BlockHeader(header)] * 2
    text = f"# headers\n840000 {header.hex()}\n\n{header.hex()}\n".encode()
    assert read_block_headers(text) == [BlockHeader(header, 840000), BlockHeader(header)]
    for bad in (header[:79], b"12 abcd\n"):
        with pytest.raises(ValueError):
            read_block_headers(bad)
    assert len(block_hash(header)) == 64


# --- the calendar protocol ----------------------------------------------------------


def test_stamp_then_upgrade_against_the_stub_calendar(calendar: CalendarStub) -> None:
    note = "osiris.evidence/clinic-a\n3\nAAAA\n\n\u2014 sig\n"
    outcome = stamp(note, [calendar.url, "http://127.0.0.1:9/unreachable"], timeout=2)
    assert outcome.calendars == [calendar.url] and len(outcome.errors) == 1
    proof = outcome.proof
    assert proof.digest == note_digest(note) and not proof.complete
    assert [a.describe() for _, a in proof.timestamp.leaves()] == [f"pending at {calendar.url}"]
    changed, notes = upgrade(proof, [calendar.url], timeout=2)
    assert not changed and notes == [f"{calendar.url}: still pending"]
    header = calendar.confirm(height=840_000)
    changed, notes = upgrade(proof, ["http://elsewhere.example"], timeout=2)
    assert not changed and "not a configured calendar" in notes[0]  # never contacted
    changed, _ = upgrade(proof, [calendar.url + "/"], timeout=2)
    assert changed and proof.complete
    (bitcoin,) = [(n, a) for n, a in proof.timestamp.leaves() if a.kind == "bitcoin"]
    assert bitcoin[1].height == 840_000
    assert bitcoin[0].message == merkle_root_of_header(header)
    again = TimestampFile.from_bytes(proof.to_bytes())
    assert again.to_bytes() == proof.to_bytes() and again.complete


def test_the_protocol_is_post_digest_and_get_timestamp(calendar: CalendarStub) -> None:
    digest = hashlib.sha256(b"x").digest()
    timestamp = submit(calendar.url, digest, timeout=2)
    ((node, _),) = list(timestamp.leaves())
    assert fetch(calendar.url, node.message, timeout=2) is None
    calendar.confirm(height=7)
    assert fetch(calendar.url, node.message, timeout=2) is not None
    assert calendar.requests[0] == "POST /digest"
    assert calendar.requests[1] == f"GET /timestamp/{node.message.hex()}"
    with pytest.raises(AnchorError, match="http"):
        submit("file:///etc/passwd", digest, timeout=2)
    with pytest.raises(AnchorError):
        stamp("note\n", ["http://127.0.0.1:9"], timeout=1)
