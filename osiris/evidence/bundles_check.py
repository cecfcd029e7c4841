"""Per-bundle properties: signature, payload digest, statement, results match.

Each ``check_*`` function checks one property of one stored envelope and records any
failure on that property's :class:`~osiris.evidence.report.PropertyResult`. They read
and never write. :mod:`osiris.evidence.walk` feeds them every stored envelope.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nacl.signing import VerifyKey

from osiris.evidence.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, SignatureError, verify_envelope
from osiris.evidence.report import PropertyResult
from osiris.evidence.statement import SCAN_PREDICATE_TYPE, STATEMENT_TYPE, result_entries
from osiris.privacy import scrub
from osiris.store.runs import facts_json


@dataclass(frozen=True)
class Trust:
    """Whom to believe: the site id and its public keys by keyid."""

    site_id: str
    keys: Mapping[str, VerifyKey]


@dataclass(frozen=True)
class StoredEnvelope:
    """An ``envelopes`` row, its decoded DSSE envelope, and its leaf hash (if any)."""

    id: int
    run_id: int
    host: str
    kind: str
    payload_sha256: str
    envelope: Envelope
    leaf_hash: bytes | None

    @property
    def payload(self) -> bytes:
        return self.envelope.payload

    @property
    def label(self) -> str:
        return f"envelope {self.id} (run {self.run_id}, host {self.host})"


StoredResult = tuple[str, str, str, str | None, str | None]
"""A ``results`` row: check id, status, reason, probe digest, facts as stored (JSON)."""


@dataclass
class RunRecords:
    """What the database says about one run: host outcomes and result rows."""

    exists: bool
    host_runs: dict[str, tuple[bool, str | None, str | None]] = field(default_factory=dict)
    results: dict[str, list[StoredResult]] = field(default_factory=dict)


def check_envelope_signature(result: PropertyResult, env: StoredEnvelope, trust: Trust) -> None:
    """A signature by a trusted key verifies over PAE(payloadType, payload)."""
    result.checked += 1
    try:
        verify_envelope(env.envelope, trust.keys)
    except SignatureError as exc:
        result.fail(env.label, str(exc))


def check_payload_digest(result: PropertyResult, env: StoredEnvelope) -> None:
    """The recorded payload digest and the leaf hash are those of the payload."""
    result.checked += 1
    if hashlib.sha256(env.payload).hexdigest() != env.payload_sha256:
        result.fail(env.label, "payload does not hash to the recorded payload_sha256")
    if env.leaf_hash is not None and hashlib.sha256(b"\0" + env.payload).digest() != env.leaf_hash:
        result.fail(env.label, "payload does not hash to its leaf in the log")


def check_statement(
    result: PropertyResult, env: StoredEnvelope, trust: Trust
) -> dict[str, Any] | None:
    """The payload is an in-toto statement about this row's site, run and host.
    Returns the parsed statement (None when it is not one)."""
    result.checked += 1
    if env.envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        result.fail(env.label, f"payload type is {env.envelope.payload_type!r}")
        return None
    try:
        document = json.loads(env.payload)
        predicate = document["predicate"]
        claims = {
            "_type": (document["_type"], STATEMENT_TYPE),
            "predicateType": (document["predicateType"], SCAN_PREDICATE_TYPE),
            "site": (predicate["site"], trust.site_id),
            "run": (predicate["run"], env.run_id),
            "host": (predicate["host"]["name"], env.host),
            "kind": (predicate["kind"], env.kind),
        }
        subjects = [s["digest"]["sha256"] for s in document["subject"]]
    except (ValueError, KeyError, TypeError):
        result.fail(env.label, "payload is not an Osiris in-toto statement")
        return None
    wrong = [f"{k} is {got!r}, not {want!r}" for k, (got, want) in claims.items() if got != want]
    if not subjects:
        wrong.append("it has no subject")
    if wrong:
        result.fail(env.label, "; ".join(wrong))
        return None
    return dict(document)


_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


_ENTRY_KEYS = {"check", "status", "reason", "probe_digest", "facts"}


def _entry_matches(row: StoredResult, entry: Any) -> bool:
    """Whether a stored result row is the signed entry, once scrubbed.

    Fast path: when the row's fields equal the signed ones (facts compared in their
    stored JSON form), the row needs no scrubbing, so it matches. Otherwise the row is
    scrubbed and made JSON-safe as it was at signing, and compared canonically.
    """
    if not isinstance(entry, dict) or entry.keys() != _ENTRY_KEYS:
        return False
    check_id, status, reason, probe_digest, facts_text = row
    if (
        entry["check"] == check_id
        and entry["status"] == status
        and entry["reason"] == reason
        and entry["probe_digest"] == probe_digest
        and facts_json(entry["facts"]) == facts_text
    ):
        return True
    return _canonical(_as_signed(row)) == _canonical(entry)


def _all_match(stored: list[StoredResult], signed: list[Any]) -> bool:
    """:func:`_entry_matches` for every pair (both sorted by check id), with the fast
    path's comparisons made in bulk: one list comparison per field, one call per fact."""
    if len(stored) != len(signed):
        return False
    try:
        fields = [
            (e["check"], e["status"], e["reason"], e["probe_digest"], facts_json(e["facts"]))
            for e in signed
            if len(e) == len(_ENTRY_KEYS)
        ]
    except (KeyError, TypeError):
        fields = []
    if len(fields) == len(stored):  # every entry well formed: only the differing ones
        return all(  # need scrubbing to compare
            mine == row or _canonical(_as_signed(row)) == _canonical(entry)
            for mine, row, entry in zip(fields, stored, signed, strict=True)
        )
    return all(_entry_matches(row, entry) for row, entry in zip(stored, signed, strict=True))


def _as_signed(row: StoredResult) -> dict[str, Any]:
    check_id, status, reason, probe_digest, facts_text = row
    facts = json.loads(facts_text) if facts_text else None
    return result_entries([(check_id, status, reason, probe_digest, facts)])[0]


def check_results_match(
    result: PropertyResult, env: StoredEnvelope, document: Mapping[str, Any], run: RunRecords
) -> None:
    """The run, the host outcome and every result row are those the statement signed."""
    if env.kind != "scan":
        return
    result.checked += 1
    predicate = document["predicate"]
    if not run.exists:
        result.fail(env.label, f"run {env.run_id} is not in the database")
        return
    outcome = run.host_runs.get(env.host)
    if outcome is None:
        result.fail(env.label, "the database has no outcome for this host in this run")
        return
    reached, error, output_digest = outcome
    problems = []
    if reached != predicate.get("reached") or scrub(error) != predicate.get("error"):
        problems.append("host outcome (reached, error) differs")
    subjects = {s.get("name"): s["digest"]["sha256"] for s in document["subject"]}
    if output_digest is not None and subjects.get("probe-output") != output_digest:
        problems.append("output digest differs from the signed probe-output subject")
    stored = sorted(run.results.get(env.host, []))
    signed = predicate.get("results")
    if not isinstance(signed, list) or not _all_match(stored, signed):
        problems.append(_results_difference(stored, signed if isinstance(signed, list) else []))
    if problems:
        result.fail(env.label, "; ".join(problems))


def _results_difference(rows: list[StoredResult], signed: list[Any]) -> str:
    """Which checks changed, went missing or were added, as far as the ids tell."""
    signed_by_id = {str(e.get("check")): e for e in signed if isinstance(e, dict)}
    stored_by_id = {row[0]: row for row in rows}
    common = signed_by_id.keys() & stored_by_id.keys()
    changed = [k for k in common if not _entry_matches(stored_by_id[k], signed_by_id[k])]
    parts = [
        f"{label}: {', '.join(sorted(ids)[:5])}"
        for label, ids in (
            ("changed", changed),
            ("missing", list(signed_by_id.keys() - stored_by_id.keys())),
            ("added", list(stored_by_id.keys() - signed_by_id.keys())),
        )
        if ids
    ]
    return "result rows differ from the signed results (" + "; ".join(parts) + ")"
