"""in-toto Statement v1 for one host's scan: what Osiris signs.

Shape (``predicateType`` https://osiris.dev/scan-result/v1)::

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": "probe-output", "digest": {"sha256": "..."}}],
     "predicateType": "https://osiris.dev/scan-result/v1",
     "predicate": {"site": "clinic-a", "run": 12, "kind": "scan",
                   "host": {"name": "ws1", "platform": "windows", "role": "workstation"},
                   "reached": true, "error": null,
                   "started": "...", "finished": "...",
                   "clock": {"source": "ntp", "offset_ms": 0.2, "max_error_ms": 16.0},
                   "results": [{"check": "win_bitlocker", "status": "pass",
                                "reason": "...", "probe_digest": "...", "facts": {...}}],
                   "osiris_version": "0.1.0", "phi_scrubber": 2}}

Subjects are the raw artifacts the predicate was derived from: the host's raw probe
output, or the transport error when the host was not reached.

:func:`canonical_payload` is the one way a statement becomes bytes: the predicate is
PHI-scrubbed, made JSON-safe, then canonicalised with RFC 8785. The verifier rebuilds
the results from the database with :func:`result_entries` and compares, scrubbing with
the rules the predicate names in ``phi_scrubber`` (:func:`signed_scrubber`; a
predicate without it was scrubbed with version 1, before the field existed).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785

from osiris import __version__
from osiris.evidence.clock import ClockInfo
from osiris.model import HostOutcome
from osiris.privacy import SCRUBBER_VERSION, Scrubber, scrub, scrubber

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SCAN_PREDICATE_TYPE = "https://osiris.dev/scan-result/v1"
SCRUBBER_FIELD = "phi_scrubber"
"""The predicate field naming the PHI scrubber rules version its values were scrubbed with."""
_SAFE_INT = 2**53 - 1
_PLAIN_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


@dataclass(frozen=True)
class Artifact:
    """A raw artifact: a subject of the statement. ``content`` is kept (table
    ``artifacts``) when Osiris has the bytes, so an auditor can re-hash it."""

    name: str
    sha256: str
    content: bytes | None = None

    @classmethod
    def of(cls, name: str, content: bytes) -> Artifact:
        return cls(name, hashlib.sha256(content).hexdigest(), content)

    def subject(self) -> dict[str, Any]:
        return {"name": self.name, "digest": {"sha256": self.sha256}}


def json_safe(value: Any) -> Any:
    """``value`` as I-JSON that RFC 8785 accepts and that reads back as it was written:
    numbers beyond ±(2**53 - 1) and non-finite floats become strings; integral floats
    become integers (RFC 8785 writes ``1.0`` as ``1``); tuples become lists; mapping
    keys and other objects become their str."""
    return _Safe().convert(value)


class _Safe:
    """One :func:`json_safe` walk; ``plain`` stays True while nothing in the value
    needs RFC 8785's own number formatting or key ordering (no float below 1e-4 in
    magnitude: above it, and up to 2**53, Python's shortest repr is written as
    ECMAScript writes it; no non-ASCII key), so the standard library's JSON writer
    gives the same bytes."""

    def __init__(self) -> None:
        self.plain = True

    def convert(self, value: Any) -> Any:
        kind = type(value)
        if kind is str or kind is bool or value is None:
            return value
        if kind is int:
            return value if -_SAFE_INT <= value <= _SAFE_INT else str(value)
        if kind is dict:
            return self._mapping(value)
        if kind is list or kind is tuple:
            return [v if type(v) is str else self.convert(v) for v in value]
        return self._other(value)

    def _mapping(self, value: Mapping[Any, Any]) -> dict[str, Any]:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                key = str(key)
            if not key.isascii():
                self.plain = False
            out[key] = item if type(item) is str else self.convert(item)
        return out

    def _other(self, value: Any) -> Any:
        if isinstance(value, bool | str):
            return value
        if isinstance(value, int):
            return self.convert(int(value))
        if isinstance(value, float):
            if not math.isfinite(value) or abs(value) > _SAFE_INT:
                return str(value)  # as big integers: RFC 8785 would write 1e20 as an integer
            if value.is_integer():
                return int(value)
            if abs(value) < 1e-4:
                self.plain = False  # where repr() and ECMAScript write numbers differently
            return float(value)
        if isinstance(value, Mapping):
            return self._mapping(value)
        if isinstance(value, list | tuple):
            return [self.convert(item) for item in value]
        return str(value)


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value (made :func:`json_safe` first)."""
    walk = _Safe()
    return _jcs(walk.convert(value), plain=walk.plain)


def _jcs(safe: Any, *, plain: bool) -> bytes:
    """RFC 8785 bytes of a JSON-safe value, identical to ``rfc8785.dumps``.

    ``rfc8785`` is pure Python; when ``plain`` (see :class:`_Safe`) the
    standard library's C writer with sorted keys and compact separators produces the
    same bytes (same escapes, integer form and key order), so it is used then; anything
    else goes through ``rfc8785.dumps``. A property test checks that the two agree.
    """
    if plain:
        try:
            return _PLAIN_JSON(safe).encode()
        except UnicodeEncodeError:  # lone surrogates: let rfc8785 decide
            pass
    return rfc8785.dumps(safe)


ResultRow = tuple[str, str, str, str | None, Any]
"""(check id, status, reason, probe digest, facts): one result, as stored."""


def _entries(rows: Iterable[ResultRow]) -> list[dict[str, Any]]:
    return [
        {
            "check": check_id,
            "status": status,
            "reason": reason,
            "probe_digest": probe_digest,
            "facts": facts,
        }
        for check_id, status, reason, probe_digest, facts in sorted(rows, key=lambda r: r[0])
    ]


def result_entries(
    rows: Iterable[ResultRow], rules: Scrubber | None = None
) -> list[dict[str, Any]]:
    """The predicate's ``results`` exactly as signed, rebuilt from stored results:
    sorted by check id, JSON-safe and scrubbed (with ``rules``, default the current
    ones), as :func:`canonical_payload` makes them."""
    entries = json_safe(_entries(rows))
    cleaned: list[dict[str, Any]] = rules.value(entries) if rules else scrub(entries)
    return cleaned


def signed_scrubber(predicate: Mapping[str, Any]) -> Scrubber:
    """The scrubber whose rules a signed predicate was scrubbed with (field
    :data:`SCRUBBER_FIELD`; version 1 when absent). Raises
    :class:`~osiris.privacy.UnknownScrubberVersion` for a version this Osiris lacks."""
    return scrubber(predicate.get(SCRUBBER_FIELD, 1))


def scan_predicate(
    *,
    site_id: str,
    run_id: int,
    outcome: HostOutcome,
    started: datetime,
    finished: datetime,
    clock: ClockInfo,
) -> dict[str, Any]:
    """The (not yet scrubbed) predicate for one host's outcome in one run."""
    host = outcome.host
    return {
        "site": site_id,
        "run": run_id,
        "kind": "scan",
        "host": {"name": host.name, "platform": host.platform.value, "role": host.role.value},
        "reached": outcome.error is None,
        "error": outcome.error,
        "started": started.isoformat(timespec="milliseconds"),
        "finished": finished.isoformat(timespec="milliseconds"),
        "clock": clock.as_dict(),
        "results": _entries(
            (r.check_id, r.status.value, r.reason, r.probe_digest, r.facts) for r in outcome.results
        ),
        "osiris_version": __version__,
    }


def scan_artifacts(outcome: HostOutcome) -> tuple[Artifact, ...]:
    """The subjects of a host's statement: its raw probe output or, for an unreached
    host, the error text; PHI-scrubbed like the payload, so no evidence carries it."""
    if outcome.raw_output is not None:
        text = scrub(outcome.raw_output.decode("utf-8", "replace"))
        return (Artifact.of("probe-output", text.encode()),)
    error = scrub(outcome.error or "host not scanned")
    return (Artifact.of("transport-error", error.encode()),)


def statement(
    subjects: Sequence[Artifact], predicate_type: str, predicate: Mapping[str, Any]
) -> dict[str, Any]:
    if not subjects:
        raise ValueError("an in-toto statement needs at least one subject")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [a.subject() for a in subjects],
        "predicateType": predicate_type,
        "predicate": dict(predicate),
    }


def canonical_payload(document: Mapping[str, Any], rules: Scrubber | None = None) -> bytes:
    """The bytes to sign: the statement made JSON-safe, its predicate PHI-scrubbed
    (with ``rules``, default the current ones) and naming the rules' version, the whole
    canonicalised with RFC 8785. Deterministic: equal inputs, equal bytes.

    Version 1 rules add no version field: that is how bundles were signed before it
    existed (tests make such bundles this way)."""
    walk = _Safe()
    safe = walk.convert(document)
    rules = rules or scrubber(SCRUBBER_VERSION)
    predicate = rules.value(safe["predicate"])  # scrubbing keeps a value JSON-safe
    if rules.version > 1:
        predicate[SCRUBBER_FIELD] = rules.version
    safe["predicate"] = predicate
    return _jcs(safe, plain=walk.plain)
