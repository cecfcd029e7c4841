"""DSSE envelopes, in-toto statements, RFC 8785 and signed checkpoint notes."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey, VerifyKey

from osiris.evidence.bundle import seal_scan
from osiris.evidence.checkpoint import (
    Checkpoint,
    CheckpointError,
    note_key_id,
    open_note,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
)
from osiris.evidence.clock import ClockInfo, system_clock
from osiris.evidence.dsse import (
    IN_TOTO_PAYLOAD_TYPE,
    Envelope,
    EnvelopeError,
    SignatureError,
    pae,
    sign_envelope,
    verify_envelope,
)
from osiris.evidence.keys import SiteSigner, keyid
from osiris.evidence.merkle import leaf_hash
from osiris.evidence.statement import (
    SCAN_PREDICATE_TYPE,
    STATEMENT_TYPE,
    canonical_json,
    json_safe,
    result_entries,
)
from osiris.model import CheckResult, Connection, Host, HostOutcome, Platform, Role, Status

KEY = SigningKey(bytes(range(32)))
TRUSTED = {keyid(KEY.verify_key): KEY.verify_key}


def test_pae_is_the_dsse_v1_encoding() -> None:
    # the example in the DSSE protocol specification
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("", b"") == b"DSSEv1 0  0 "


def test_an_envelope_round_trips_and_verifies_with_bare_pynacl() -> None:
    envelope = sign_envelope(b'{"a":1}', IN_TOTO_PAYLOAD_TYPE, KEY)
    text = envelope.to_json()
    document = json.loads(text)
    assert set(document) == {"payload", "payloadType", "signatures"}
    assert document["signatures"][0]["keyid"] == hashlib.sha256(bytes(KEY.verify_key)).hexdigest()
    assert text == rfc8785.dumps(document).decode()  # the envelope JSON is canonical
    payload = base64.b64decode(document["payload"])
    message = b"DSSEv1 %d %s %d %s" % (
        len(IN_TOTO_PAYLOAD_TYPE), IN_TOTO_PAYLOAD_TYPE.encode(), len(payload), payload
    )  # fmt: skip
    VerifyKey(bytes(KEY.verify_key)).verify(
        message, base64.b64decode(document["signatures"][0]["sig"])
    )
    assert Envelope.from_json(text) == envelope
    assert verify_envelope(Envelope.from_json(text), TRUSTED) == keyid(KEY.verify_key)


def test_a_changed_payload_or_type_or_an_unknown_key_does_not_verify() -> None:
    envelope = sign_envelope(b'{"a":1}', IN_TOTO_PAYLOAD_TYPE, KEY)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_envelope(Envelope(b'{"a":2}', envelope.payload_type, envelope.signatures), TRUSTED)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_envelope(Envelope(envelope.payload, "text/plain", envelope.signatures), TRUSTED)
    other = SigningKey.generate().verify_key
    with pytest.raises(SignatureError, match="not signed by a trusted key"):
        verify_envelope(envelope, {keyid(other): other})
    with pytest.raises(EnvelopeError):
        Envelope.from_json('{"payload": "!!", "payloadType": "x", "signatures": []}')


# --- RFC 8785 ---------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=15,
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(_JSON)
def test_canonical_json_is_exactly_rfc8785(value: object) -> None:
    safe = json_safe(value)
    try:
        expected = rfc8785.dumps(safe)
    except rfc8785.CanonicalizationError:
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


@pytest.mark.parametrize(
    "number",
    [1e-4, 9.999e-5, 0.1 + 0.2, 123456789012345.67, 9.999999999999998e15, 1e16, 2.0**53 + 2,
     5e-324, 1.7976931348623157e308, -0.0, -1e-4, 1e21, 1e-7],
)  # fmt: skip
def test_floats_at_the_edges_of_the_fast_path_are_exactly_rfc8785(number: float) -> None:
    document = {"n": number, "list": [number, -number]}
    assert canonical_json(document) == rfc8785.dumps(json_safe(document))


def test_json_safe_keeps_what_rfc8785_cannot_hold_as_text() -> None:
    assert json_safe(
        {"big": 2**60, "huge": 1e20, "nan": float("nan"), "one": 1.0, "t": (1, 2), 3: "x"}
    ) == {
        "big": "1152921504606846976",
        "huge": "1e+20",
        "nan": "nan",
        "one": 1,
        "t": [1, 2],
        "3": "x",
    }


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_what_is_signed_reads_back_as_what_was_made_safe(value: object) -> None:
    """The verifier compares stored values, made safe, with parsed payloads."""
    safe = json_safe({"v": value})
    assert json.loads(canonical_json(safe)) == safe
    assert canonical_json(json.loads(canonical_json(safe))) == canonical_json(safe)


# --- statements and sealing -------------------------------------------------

HOST = Host("ws1", "10.0.0.5", Connection.SSH, Platform.LINUX, Role.SERVER)


def _outcome(**facts: object) -> HostOutcome:
    return HostOutcome(
        HOST,
        (
            CheckResult("ws1", "lnx_b", Status.FAIL, "owner jdoe@clinic.example", facts=facts),
            CheckResult("ws1", "lnx_a", Status.PASS, "fine", probe_digest="ab" * 32),
        ),
        duration_ms=1500.0,
        raw_output=b"probe output",
    )


def test_a_sealed_scan_is_a_signed_scrubbed_canonical_in_toto_statement() -> None:
    from datetime import UTC, datetime

    signer = SiteSigner("clinic-a", KEY)
    outcome = _outcome(ssn="123-45-6789", load=0.25)
    finished = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    bundle = seal_scan(signer, 7, outcome, finished=finished, clock=ClockInfo("ntp", 0.5, 16.0))
    envelope = Envelope.from_json(bundle.envelope_json)
    verify_envelope(envelope, TRUSTED)
    assert envelope.payload_type == IN_TOTO_PAYLOAD_TYPE
    assert rfc8785.dumps(json.loads(envelope.payload)) == envelope.payload
    assert bundle.payload_sha256 == hashlib.sha256(envelope.payload).hexdigest()
    assert bundle.leaf_hash == leaf_hash(envelope.payload)
    statement = json.loads(envelope.payload)
    assert statement["_type"] == STATEMENT_TYPE
    assert statement["predicateType"] == SCAN_PREDICATE_TYPE
    expected = hashlib.sha256(b"probe output").hexdigest()
    assert statement["subject"] == [{"name": "probe-output", "digest": {"sha256": expected}}]
    predicate = statement["predicate"]
    assert predicate["site"] == "clinic-a" and predicate["run"] == 7
    assert predicate["host"] == {"name": "ws1", "platform": "linux", "role": "server"}
    assert predicate["started"] == "2026-01-02T03:04:03.500+00:00"
    assert predicate["finished"] == "2026-01-02T03:04:05.000+00:00"
    assert predicate["clock"] == {"source": "ntp", "offset_ms": 0.5, "max_error_ms": 16}
    assert [r["check"] for r in predicate["results"]] == ["lnx_a", "lnx_b"]
    assert predicate["results"][1]["reason"] == "owner [email]"
    assert predicate["results"][1]["facts"] == {"ssn": "[ssn]", "load": 0.25}
    assert b"123-45-6789" not in envelope.payload and b"jdoe" not in envelope.payload
    # what the verifier rebuilds from stored rows is exactly what was signed
    rows = [
        (r.check_id, r.status.value, r.reason, r.probe_digest, r.facts) for r in outcome.results
    ]
    assert result_entries(rows) == predicate["results"]


def test_sealing_is_deterministic() -> None:
    from datetime import UTC, datetime

    signer = SiteSigner("clinic-a", KEY)
    moment = datetime(2026, 1, 2, tzinfo=UTC)
    first = seal_scan(signer, 1, _outcome(x=1), finished=moment, clock=ClockInfo("system"))
    again = seal_scan(signer, 1, _outcome(x=1), finished=moment, clock=ClockInfo("system"))
    assert first == again


def test_an_unreached_host_names_its_transport_error_as_subject() -> None:
    from datetime import UTC, datetime

    outcome = HostOutcome(HOST, (), error="ssh: connection refused by admin@clinic.example")
    bundle = seal_scan(SiteSigner("c", KEY), 1, outcome, finished=datetime.now(UTC),
                       clock=ClockInfo("system"))  # fmt: skip
    (artifact,) = bundle.artifacts
    assert artifact.name == "transport-error"
    assert artifact.content == b"ssh: connection refused by [email]"
    assert artifact.sha256 == hashlib.sha256(artifact.content).hexdigest()
    statement = json.loads(Envelope.from_json(bundle.envelope_json).payload)
    assert statement["predicate"]["reached"] is False
    assert statement["subject"][0]["digest"]["sha256"] == artifact.sha256


def test_the_clock_reports_a_source_and_no_made_up_offset() -> None:
    clock = system_clock()
    assert clock.source in ("ntp", "system")
    if clock.source == "system":
        assert clock.offset_ms is None and clock.max_error_ms is None
    else:
        assert isinstance(clock.offset_ms, float)


# --- signed notes and checkpoints -------------------------------------------

# golang.org/x/mod/sumdb/note's documented example (Ed25519 is deterministic)
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = GO_TEXT + (
    "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
    "qfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# the C2SP signed-note specification's example verifier key and note
SPEC_KEY = VerifyKey(base64.b64decode("AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")[1:])
SPEC_NOTE = (
    "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2O"
    "NncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def test_signed_notes_match_the_reference_implementation_byte_for_byte() -> None:
    key = SigningKey(GO_SEED)
    assert note_key_id("PeterNeumann", key.verify_key).hex() == "c74f20a3"
    assert sign_note(GO_TEXT, "PeterNeumann", key) == GO_NOTE
    assert open_note(GO_NOTE, "PeterNeumann", key.verify_key) == GO_TEXT
    assert note_key_id("example.com/foo", SPEC_KEY).hex() == "530d903a"
    assert open_note(SPEC_NOTE, "example.com/foo", SPEC_KEY) == "This is an example message.\n"


def test_a_checkpoint_is_a_c2sp_note_and_refuses_tampering() -> None:
    checkpoint = Checkpoint("osiris.evidence/clinic-a", 8, bytes(32))
    note = sign_checkpoint(checkpoint, KEY)
    lines = note.split("\n")
    assert lines[:4] == ["osiris.evidence/clinic-a", "8", base64.b64encode(bytes(32)).decode(), ""]
    assert lines[4].startswith("— osiris.evidence/clinic-a ")
    assert verify_checkpoint(note, "osiris.evidence/clinic-a", KEY.verify_key) == checkpoint
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(
            note.replace("\n8\n", "\n9\n"), "osiris.evidence/clinic-a", KEY.verify_key
        )
    with pytest.raises(CheckpointError, match="no signature"):
        verify_checkpoint(note, "osiris.evidence/clinic-b", KEY.verify_key)
    with pytest.raises(CheckpointError, match="no signature"):
        verify_checkpoint(note, "osiris.evidence/clinic-a", SigningKey.generate().verify_key)
    # another key's signature line is ignored, not an error
    extra = sign_note(checkpoint.text(), "witness.example", SigningKey.generate()).split("\n\n")[1]
    assert verify_checkpoint(note + extra, "osiris.evidence/clinic-a", KEY.verify_key) == checkpoint
