"""The cheap comparison of signed results with stored rows agrees with the exact one.

read_payload decides "the signed results are the stored rows" from text (SQLite's
rendering of each row, the payload's canonical text); rows_match decides it by scrubbing
and canonicalising every row. Whatever the facts, and however a row is edited, the
cheap answer may be "not sure" (then the exact one is taken) but never a wrong "equal".
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osiris.evidence.bundle import seal_scan
from osiris.evidence.clock import ClockInfo
from osiris.evidence.keys import SiteSigner, load_signing_key
from osiris.evidence.log import append_bundles
from osiris.evidence.results_match import read_payload, rows_match
from osiris.evidence.walk import run_records
from osiris.model import CheckResult, Connection, Host, HostOutcome, Platform, Role, Status
from osiris.site import init_site
from osiris.store.runs import facts_json, record_host, start_run

PHI = st.sampled_from(["jdoe@clinic.example", "SSN 123-45-6789", "DOB 01/02/1980", "555-123-4567"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from([1.0, 0.5, 1e-7, 1e20, 2.0]),
    st.text(max_size=8),
    PHI,
)
facts = st.dictionaries(
    st.one_of(st.text(max_size=6), PHI, st.just("dob")),
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6),
    max_size=4,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[sqlite_utils.Database, SiteSigner]:
    made = init_site(tmp_path_factory.mktemp("results") / "home", "clinic-a")
    return made.database(), SiteSigner("clinic-a", load_signing_key(made.private_key_path))


def record(db: sqlite_utils.Database, signer: SiteSigner, all_facts: list[dict | None]) -> tuple:
    run_id = start_run(db, engine="direct", inventory=(), host_count=1, check_count=1)
    host = Host("h", "10.0.0.1", Connection.SSH, Platform.LINUX, Role.SERVER)
    results = tuple(
        CheckResult("h", f"lnx_{i}", Status.PASS, "fine jdoe@clinic.example", facts=f)
        for i, f in enumerate(all_facts)
    )
    done = HostOutcome(host, results, duration_ms=1.0, raw_output=b"out")
    bundle = seal_scan(signer, run_id, done, finished=datetime.now(UTC), clock=ClockInfo("system"))
    record_host(db, run_id, done, within=lambda: append_bundles(db, [bundle]))
    payload = base64.b64decode(json.loads(bundle.envelope_json)["payload"])
    return run_id, payload


def decisions(db: sqlite_utils.Database, run_id: int, payload: bytes) -> tuple[bool, bool]:
    records = run_records(db.conn, run_id)
    cheap = read_payload(payload, records.rendered.get("h"))
    assert cheap is not None
    exact = rows_match(records.rows("h"), json.loads(payload)["predicate"]["results"])
    return cheap.results_are_rows, exact


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(all_facts=st.lists(st.one_of(st.none(), facts), min_size=0, max_size=4), data=st.data())
def test_the_cheap_comparison_never_says_equal_when_the_exact_one_does_not(
    site, all_facts, data
) -> None:
    db, signer = site
    run_id, payload = record(db, signer, all_facts)
    cheap, exact = decisions(db, run_id, payload)
    assert exact  # untouched rows are the signed results
    if not all_facts:
        return
    # now edit one stored row the way a tamperer (or a bug) might
    target = data.draw(st.sampled_from([f"lnx_{i}" for i in range(len(all_facts))]))
    column, value = data.draw(
        st.one_of(
            st.tuples(st.just("facts"), facts.map(facts_json)),
            st.tuples(st.just("facts"), st.sampled_from(["{", "null", "[]", '{"a": 1,}'])),
            st.tuples(st.just("status"), st.sampled_from(["fail", "error", "na"])),
            st.tuples(st.just("reason"), st.text(max_size=10)),
        )
    )
    db.execute(
        f"UPDATE results SET {column} = ? WHERE run_id = ? AND check_id = ?",
        [value, run_id, target],
    )
    cheap, exact = decisions(db, run_id, payload)
    assert exact or not cheap


def test_common_rows_take_the_cheap_path_phi_and_integral_floats_included(site) -> None:
    db, signer = site
    run_id, payload = record(
        db, signer, [{"owner": "jdoe@clinic.example", "load": 2.0, "ok": True}, {"n": 1}, None]
    )
    assert decisions(db, run_id, payload) == (True, True)
    # 1 -> true reads the same to a lax comparison; neither comparison is lax
    db.execute(
        "UPDATE results SET facts = ? WHERE run_id = ? AND check_id = 'lnx_1'",
        [json.dumps({"n": True}), run_id],
    )
    assert decisions(db, run_id, payload) == (False, False)


def test_a_payload_not_in_canonical_form_is_read_the_exact_way(site) -> None:
    db, signer = site
    run_id, payload = record(db, signer, [{"a": 1}])
    records = run_records(db.conn, run_id)
    spaced = json.dumps(json.loads(payload)).encode()  # same statement, other bytes
    read = read_payload(spaced, records.rendered.get("h"))
    assert read is not None and not read.results_are_rows
    assert read.document["predicate"]["results"][0]["facts"] == {"a": 1}
    assert read_payload(b"not json", records.rendered.get("h")) is None
    tricky = payload.replace(b'"reached":true', b'"reached":true,"x":{"results":[]}')
    read = read_payload(tricky, records.rendered.get("h"))
    assert read is not None and not read.results_are_rows


def test_a_second_results_key_or_a_stray_constant_is_read_the_exact_way(site) -> None:
    db, signer = site
    run_id, payload = record(db, signer, [{"a": 1}])
    rendered = run_records(db.conn, run_id).rendered.get("h")
    # a later duplicate key is the one a full parse keeps: the rows walked are not it
    twice = payload.replace(b',"run":', b',"results":[],"run":')
    read = read_payload(twice, rendered)
    assert read is not None and not read.results_are_rows
    assert read.document["predicate"]["results"] == []
    # a NaN elsewhere could pass for the hole the cheap way leaves for the array
    stray = payload.replace(b'"reached":true', b'"reached":NaN')
    read = read_payload(stray, rendered)
    assert read is not None and not read.results_are_rows
