"""Evidence signed under older PHI scrubber rules still verifies.

`osiris verify` scrubs the stored result rows again and compares them with the signed
payload, so new rules would make old evidence look tampered with. Each predicate names
the rules it was scrubbed with (``phi_scrubber``; absent before the field existed, which
means version 1) and the verifier scrubs with those. The pinned payload below was made
by the scrubber as it was before version 2 (MRNs, addresses and names kept), with the
same outcome and key as here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils
from nacl.signing import SigningKey

from osiris.evidence.bundle import Bundle, seal_scan
from osiris.evidence.clock import ClockInfo
from osiris.evidence.dsse import IN_TOTO_PAYLOAD_TYPE, sign_envelope
from osiris.evidence.keys import SiteSigner, keyid
from osiris.evidence.log import append_bundles, write_checkpoint
from osiris.evidence.merkle import leaf_hash
from osiris.evidence.report import Property
from osiris.evidence.results_match import read_payload, rows_match
from osiris.evidence.statement import (
    SCAN_PREDICATE_TYPE,
    SCRUBBER_FIELD,
    Artifact,
    canonical_payload,
    result_entries,
    scan_predicate,
    statement,
)
from osiris.evidence.verify import Trust, verify_log
from osiris.evidence.walk import run_records
from osiris.model import CheckResult, Connection, Host, HostOutcome, Platform, Role, Status
from osiris.privacy import SCRUBBER_VERSION, scrubber
from osiris.store import open_database
from osiris.store.runs import record_host, start_run

KEY = SigningKey(bytes(range(32)))
SIGNER = SiteSigner("clinic-a", KEY)
TRUST = Trust("clinic-a", {keyid(KEY.verify_key): KEY.verify_key})
FINISHED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CLOCK = ClockInfo("ntp", 0.5, 16.0)
OUTCOME = HostOutcome(
    Host("ws1", "10.0.0.1", Connection.SSH, Platform.LINUX, Role.SERVER),
    (
        CheckResult(
            "ws1",
            "lnx_inactive_accounts",
            Status.FAIL,
            "accounts idle for more than 90 days: jdoe",
            facts={
                "accounts": [{"user": "jdoe", "idle_days": 120, "ever_logged_in": True}],
                "useradd_inactive": -1,
            },
        ),
        CheckResult(
            "ws1",
            "lnx_patient_export",
            Status.FAIL,
            "chart of Jane Doe, MRN: 00123456, 12 Main Street, jdoe@clinic.example",
            facts={
                "gecos": "Jane Doe,Room 4,555-123-4567,,",
                "mrn": "A0012345",
                "patient_name": "Jane Doe",
                "address": "12 Main Street",
                "dob": "1980-01-02",
                "note": "seen at 400 Oak Ave Suite 2",
            },
            probe_digest="ab" * 32,
        ),
    ),
    duration_ms=1500.0,
    raw_output=b"probe output",
)
# seal_scan(SIGNER, 1, OUTCOME, finished=FINISHED, clock=CLOCK) before version 2 existed
V1_PAYLOAD = (
    b'{"_type":"https://in-toto.io/Statement/v1","predicate":{"clock":{"max_error_ms":16,'
    b'"offset_ms":0.5,"source":"ntp"},"error":null,'
    b'"finished":"2026-01-02T03:04:05.000+00:00","host":{"name":"ws1","platform":"linux",'
    b'"role":"server"},"kind":"scan","osiris_version":"0.1.0","reached":true,'
    b'"results":[{"check":"lnx_inactive_accounts",'
    b'"facts":{"accounts":[{"ever_logged_in":true,"idle_days":120,"user":"jdoe"}],'
    b'"useradd_inactive":-1},"probe_digest":null,'
    b'"reason":"accounts idle for more than 90 days: jdoe","status":"fail"},'
    b'{"check":"lnx_patient_export","facts":{"address":"12 Main Street","dob":"[dob]",'
    b'"gecos":"Jane Doe,Room 4,[phone],,","mrn":"A0012345",'
    b'"note":"seen at 400 Oak Ave Suite 2","patient_name":"Jane Doe"},'
    b'"probe_digest":"abababababababababababababababababababababababababababababababab",'
    b'"reason":"chart of Jane Doe, MRN: 00123456, 12 Main Street, [email]",'
    b'"status":"fail"}],"run":1,"site":"clinic-a",'
    b'"started":"2026-01-02T03:04:03.500+00:00"},'
    b'"predicateType":"https://osiris.dev/scan-result/v1","subject":[{"digest":{"sha256":'
    b'"db019002f0f01c993f3f43b2c45728fa959c27487f28a51ef9cbf282366acc79"},'
    b'"name":"probe-output"}]}'
)
V1_SHA256 = "c0de8853a7a56de4f3290d87680cff4107c955f457b9a8209254b8cb540a590c"
ROWS = [(r.check_id, r.status.value, r.reason, r.probe_digest, r.facts) for r in OUTCOME.results]


def bundle_of(payload: bytes) -> Bundle:
    """A scan bundle of run 1 for ``payload``, signed now (Ed25519 is deterministic:
    the same bytes the site signed then)."""
    envelope = sign_envelope(payload, IN_TOTO_PAYLOAD_TYPE, KEY)
    return Bundle(
        run_id=1,
        host="ws1",
        kind="scan",
        envelope_json=envelope.to_json(),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        leaf_hash=leaf_hash(payload),
        keyid=keyid(KEY.verify_key),
        artifacts=(Artifact.of("probe-output", b"probe output"),),
    )


def site_with(
    tmp_path: Path, bundle: Bundle, outcome: HostOutcome = OUTCOME
) -> sqlite_utils.Database:
    """A site database holding ``outcome`` as run 1 with ``bundle`` as its evidence."""
    db = open_database(tmp_path / "osiris.db", create=True)
    run_id = start_run(db, engine="direct", inventory=(), host_count=1, check_count=2)
    assert run_id == bundle.run_id
    record_host(db, run_id, outcome, within=lambda: append_bundles(db, [bundle]))
    write_checkpoint(db, SIGNER, run_id)
    return db


def test_the_pinned_payload_is_what_version_1_rules_still_sign() -> None:
    assert hashlib.sha256(V1_PAYLOAD).hexdigest() == V1_SHA256
    predicate = scan_predicate(
        site_id="clinic-a",
        run_id=1,
        outcome=OUTCOME,
        started=datetime(2026, 1, 2, 3, 4, 3, 500000, tzinfo=UTC),
        finished=FINISHED,
        clock=CLOCK,
    )
    predicate["osiris_version"] = "0.1.0"  # as it was when the payload was pinned
    subjects = (Artifact.of("probe-output", b"probe output"),)
    document = statement(subjects, SCAN_PREDICATE_TYPE, predicate)
    assert canonical_payload(document, scrubber(1)) == V1_PAYLOAD
    assert result_entries(ROWS, scrubber(1)) == json.loads(V1_PAYLOAD)["predicate"]["results"]


def test_a_bundle_signed_before_version_2_still_verifies(tmp_path: Path) -> None:
    db = site_with(tmp_path, bundle_of(V1_PAYLOAD))
    report = verify_log(db, TRUST, workers=1)
    assert report.ok, report.failed
    assert report[Property.RESULTS_MATCH].checked == 1
    # the current rules would have scrubbed these rows otherwise: without the version
    # the bundle names, verify would call it tampered with
    signed = json.loads(V1_PAYLOAD)["predicate"]["results"]
    stored = run_records(db.conn, 1).rows("ws1")
    assert rows_match(stored, signed, scrubber(1))
    assert not rows_match(stored, signed, scrubber(SCRUBBER_VERSION))
    # and the cheap comparison reads it with the same rules
    read = read_payload(V1_PAYLOAD, run_records(db.conn, 1).rendered["ws1"])
    assert read is not None and read.results_are_rows


def test_an_edited_row_under_a_version_1_bundle_is_still_found(tmp_path: Path) -> None:
    db = site_with(tmp_path, bundle_of(V1_PAYLOAD))
    db.execute(
        "UPDATE results SET reason = 'chart of Jane Doe, MRN: 00999999, 12 Main Street,"
        " jdoe@clinic.example' WHERE check_id = 'lnx_patient_export'"
    )
    report = verify_log(db, TRUST, workers=1)
    assert [p.value for p in report.failed] == ["results_match"]
    (failure,) = report[Property.RESULTS_MATCH].failures
    assert "changed: lnx_patient_export" in failure.detail


def test_new_bundles_name_the_current_rules_and_verify(tmp_path: Path) -> None:
    bundle = seal_scan(SIGNER, 1, OUTCOME, finished=FINISHED, clock=CLOCK)
    payload = base64.b64decode(json.loads(bundle.envelope_json)["payload"])
    predicate = json.loads(payload)["predicate"]
    assert predicate[SCRUBBER_FIELD] == SCRUBBER_VERSION >= 2
    for phi in ("00123456", "A0012345", "Main Street", "Oak Ave", "jdoe@", "1980"):
        assert phi.encode() not in payload
    accounts, export = (entry["facts"] for entry in predicate["results"])
    assert accounts["accounts"][0]["user"] == "jdoe"  # an account name, not a person's
    assert export["patient_name"] == export["gecos"] == "[name]"
    # a name in free text has no label to be known by: only known fields are scrubbed
    assert predicate["results"][1]["reason"] == "chart of Jane Doe, MRN: [mrn], [address], [email]"
    db = site_with(tmp_path, bundle)
    report = verify_log(db, TRUST, workers=1)
    assert report.ok, report.failed
    read = read_payload(payload, run_records(db.conn, 1).rendered["ws1"])
    assert read is not None and read.results_are_rows


def test_a_bundle_naming_unknown_rules_fails_with_what_to_do(tmp_path: Path) -> None:
    predicate = scan_predicate(
        site_id="clinic-a",
        run_id=1,
        outcome=OUTCOME,
        started=FINISHED,
        finished=FINISHED,
        clock=CLOCK,
    )
    subjects = (Artifact.of("probe-output", b"probe output"),)
    document = json.loads(canonical_payload(statement(subjects, SCAN_PREDICATE_TYPE, predicate)))
    document["predicate"][SCRUBBER_FIELD] = 99  # a newer Osiris's rules
    payload = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    db = site_with(tmp_path, bundle_of(payload))
    report = verify_log(db, TRUST, workers=1)
    assert [p.value for p in report.failed] == ["results_match"]
    (failure,) = report[Property.RESULTS_MATCH].failures
    assert failure.detail.startswith("PHI scrubber rules version 99 are unknown to this Osiris")


@pytest.mark.parametrize("version", [0, SCRUBBER_VERSION + 1, str(SCRUBBER_VERSION), True, None])
def test_only_known_versions_have_rules(version: object) -> None:
    with pytest.raises(ValueError, match="unknown to this Osiris"):
        scrubber(version)  # type: ignore[arg-type]
