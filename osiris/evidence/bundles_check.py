"""Per-bundle properties: signature (and key validity), payload digest, statement,
results match (scan bundles), actions match (heal bundles).

Each ``check_*`` function checks one property of one stored envelope and records any
failure on that property's :class:`~osiris.evidence.report.PropertyResult`. They read
and never write. :mod:`osiris.evidence.walk` feeds them every stored envelope, with the
database's records of its run (:class:`RunRecords`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from nacl.signing import VerifyKey

from osiris.evidence.action import HEAL_PREDICATE_TYPE, ActionRow, action_entry, entry_difference
from osiris.evidence.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, SignatureError, verify_envelope
from osiris.evidence.report import PropertyResult
from osiris.evidence.results_match import (
    Payload,
    StoredResult,
    results_difference,
    rows_match,
)
from osiris.evidence.rotation import KeyChain, KeyEpoch
from osiris.evidence.statement import SCAN_PREDICATE_TYPE, STATEMENT_TYPE, signed_scrubber
from osiris.privacy import UnknownScrubberVersion

_PREDICATE_TYPES = {"scan": SCAN_PREDICATE_TYPE, "heal": HEAL_PREDICATE_TYPE}


@dataclass(frozen=True)
class Trust:
    """Whom to believe: the site id, its public keys by keyid and, once the site has
    rotated its key, the chain saying which key alone may sign each log position
    (without one, every key in ``keys`` is valid everywhere)."""

    site_id: str
    keys: Mapping[str, VerifyKey]
    chain: KeyChain | None = None

    def key_for_leaf(self, index: int | None) -> KeyEpoch | None:
        """The epoch whose key must sign leaf ``index`` (None: any trusted key)."""
        if self.chain is None or index is None:
            return None
        return self.chain.for_leaf(index)


@dataclass(frozen=True)
class StoredEnvelope:
    """An ``envelopes`` row, its decoded DSSE envelope, and its leaf (if any)."""

    id: int
    run_id: int
    host: str
    kind: str
    payload_sha256: str
    envelope: Envelope
    leaf_hash: bytes | None
    leaf_index: int | None = None
    action_id: int | None = None

    @property
    def payload(self) -> bytes:
        return self.envelope.payload

    @property
    def label(self) -> str:
        if self.kind == "heal":
            return f"envelope {self.id} (action {self.action_id}, host {self.host})"
        return f"envelope {self.id} (run {self.run_id}, host {self.host})"


@dataclass
class RunRecords:
    """What the database says about one run: host outcomes, and each host's result
    rows as SQLite renders them (row count, rows joined by
    :data:`~osiris.evidence.results_match.ROW_SEPARATOR`; see
    :mod:`osiris.evidence.results_match`); ``rows(host)`` reads the rows themselves,
    sorted by check id, when the rendering does not settle it."""

    exists: bool
    host_runs: dict[str, tuple[bool, str | None, str | None]] = field(default_factory=dict)
    rendered: dict[str, tuple[int, str]] = field(default_factory=dict)
    rows: Callable[[str], list[StoredResult]] = field(default=lambda host: [])


def check_envelope_signature(
    result: PropertyResult, validity: PropertyResult, env: StoredEnvelope, trust: Trust
) -> None:
    """A signature by a trusted key verifies over PAE(payloadType, payload) and, once
    the site has rotated its key, it is by the key valid at the envelope's leaf."""
    result.checked += 1
    epoch = trust.key_for_leaf(env.leaf_index)
    try:
        used = verify_envelope(env.envelope, trust.keys, prefer=epoch.keyid if epoch else None)
    except SignatureError as exc:
        result.fail(env.label, str(exc))
        return
    if epoch is None or trust.chain is None:
        return
    validity.checked += 1
    if used != epoch.keyid:
        signer = next((e for e in trust.chain if e.keyid == used), None)
        what = signer.describe() if signer else f"key {used[:16]}"
        validity.fail(
            env.label,
            f"leaf {env.leaf_index} is signed by {what}; only {epoch.describe()} may sign it",
        )


def check_payload_digest(result: PropertyResult, env: StoredEnvelope) -> None:
    """The recorded payload digest and the leaf hash are those of the payload."""
    result.checked += 1
    if hashlib.sha256(env.payload).hexdigest() != env.payload_sha256:
        result.fail(env.label, "payload does not hash to the recorded payload_sha256")
    if env.leaf_hash is not None:
        leaf = hashlib.sha256(b"\0")
        leaf.update(env.payload)
        if leaf.digest() != env.leaf_hash:
            result.fail(env.label, "payload does not hash to its leaf in the log")


def check_statement(
    result: PropertyResult, env: StoredEnvelope, trust: Trust, payload: Payload | None
) -> Payload | None:
    """The payload (as :func:`~osiris.evidence.results_match.read_payload` read it) is
    an in-toto statement about this row's site, run and host. Returns it when it is."""
    result.checked += 1
    if env.envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        result.fail(env.label, f"payload type is {env.envelope.payload_type!r}")
        return None
    try:
        if payload is None:
            raise ValueError("not JSON")
        document = payload.document
        predicate = document["predicate"]
        claims = {
            "_type": (document["_type"], STATEMENT_TYPE),
            "predicateType": (document["predicateType"], _PREDICATE_TYPES.get(env.kind)),
            "site": (predicate["site"], trust.site_id),
            "run": (predicate["run"], env.run_id),
            "host": (predicate["host"]["name"], env.host),
            "kind": (predicate["kind"], env.kind),
        }
        if env.kind == "heal":
            claims["action"] = (predicate["action"]["id"], env.action_id)
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
    return payload


def check_results_match(
    result: PropertyResult, env: StoredEnvelope, payload: Payload, run: RunRecords
) -> None:
    """The run, the host outcome and every result row are those the statement signed
    (the rows were compared while reading the payload when ``results_are_rows``), the
    stored values scrubbed with the PHI rules the statement names."""
    if env.kind != "scan":
        return
    result.checked += 1
    document = payload.document
    predicate = document["predicate"]
    try:
        rules = signed_scrubber(predicate)
    except UnknownScrubberVersion as exc:
        result.fail(env.label, str(exc))
        return
    if not run.exists:
        result.fail(env.label, f"run {env.run_id} is not in the database")
        return
    outcome = run.host_runs.get(env.host)
    if outcome is None:
        result.fail(env.label, "the database has no outcome for this host in this run")
        return
    reached, error, output_digest = outcome
    problems = []
    if reached != predicate.get("reached") or rules.value(error) != predicate.get("error"):
        problems.append("host outcome (reached, error) differs")
    subjects = {s.get("name"): s["digest"]["sha256"] for s in document["subject"]}
    if output_digest is not None and subjects.get("probe-output") != output_digest:
        problems.append("output digest differs from the signed probe-output subject")
    if not payload.results_are_rows:
        signed = predicate.get("results")
        signed = signed if isinstance(signed, list) else []
        rows = run.rows(env.host)
        if not isinstance(predicate.get("results"), list) or not rows_match(rows, signed, rules):
            problems.append(results_difference(rows, signed, rules))
    if problems:
        result.fail(env.label, "; ".join(problems))


def check_action_match(
    result: PropertyResult,
    env: StoredEnvelope,
    payload: Payload,
    row: ActionRow | None,
    counted: str | None,
) -> None:
    """The ``heal_actions`` row of a heal bundle is the action the statement signed
    (``row``: that row as stored, None when there is none), and the flywheel counted it
    under the pattern the statement signed (``counted``: that signature, None when not
    counted): a learned rule's record is made only of signed outcomes."""
    if env.kind != "heal":
        return
    result.checked += 1
    subject = f"action {env.action_id} (envelope {env.id}, host {env.host})"
    if row is None:
        result.fail(subject, "the heal action is not in the database")
        return
    predicate = payload.document["predicate"]
    try:
        rules = signed_scrubber(predicate)
    except UnknownScrubberVersion as exc:
        result.fail(subject, str(exc))
        return
    signed = predicate.get("action")
    if action_entry(row, rules) != signed:
        result.fail(subject, entry_difference(row, signed, rules))
    pattern = predicate.get("pattern")
    if counted != pattern:
        result.fail(subject, f"signed for pattern {_short(pattern)}, counted for {_short(counted)}")


def _short(signature: object) -> str:
    return signature[:12] if isinstance(signature, str) else "none"
