"""Reading a signed scan payload and comparing its results with the stored rows, exactly
and cheaply.

The exact comparison (:func:`rows_match`): each stored row, scrubbed and made JSON-safe
as at signing, canonically equals its signed entry (rows and entries both in check-id
order). It parses every fact and runs the scrubber on every row.

The cheap way (:func:`read_payload`) gives the same answer without either for most rows.
SQLite renders each stored row as its signed entry should read (compact JSON, keys in
RFC 8785 order), each a complete JSON value, joined by :data:`ROW_SEPARATOR`. The
payload is canonical JSON, so its ``results`` array is walked entry by entry as text:
where it holds a row's rendering, that entry *is* the stored row, value for value and
type for type; any other row (PHI scrubbed at signing) is scrubbed and canonicalised and
must be the text there. Then only the rest of the statement (a few hundred bytes) is
parsed, and re-encoded canonically it must reproduce the text around the array byte for
byte: so the array walked is the statement's one ``results`` value, and nothing else in
the payload was skipped. Anything unexpected (a non-canonical payload, a row that does
not match) falls back to parsing the whole payload and to :func:`rows_match`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from osiris.evidence.statement import result_entries
from osiris.privacy import scrub

ROW_SEPARATOR = "\x01"
"""Joins rendered rows: no rendered row holds it (JSON escapes control characters)."""

StoredResult = tuple[str, str, str, str | None, str | None]
"""A ``results`` row: check id, status, reason, probe digest, facts as stored (JSON)."""

_PLAIN = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_KEY = '"results":['
_HOLE = "\0osiris-results\0"
_HOLE_JSON = _PLAIN(_HOLE)
_ENTRY_KEYS = {"check", "status", "reason", "probe_digest", "facts"}


@dataclass(frozen=True)
class Payload:
    """A parsed statement. When ``results_are_rows``, the signed results were found
    equal to the stored rows while reading, and ``predicate.results`` was not parsed
    (it is None in ``document``)."""

    document: dict[str, Any]
    results_are_rows: bool = False


def read_payload(payload: bytes, rendered: tuple[int, str] | None) -> Payload | None:
    """The statement in ``payload`` (None when it is not JSON), its results compared
    on the way with the host's ``rendered`` rows (count, joined text) when given."""
    if rendered is not None:
        document = _read_with_rows(payload, *rendered)
        if document is not None:
            return Payload(document, results_are_rows=True)
    try:
        document = json.loads(payload)
    except ValueError:
        return None
    return Payload(document) if isinstance(document, dict) else None


def _read_with_rows(payload: bytes, count: int, joined: str) -> dict[str, Any] | None:
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        return None
    start = text.find(_KEY)
    if start < 0:
        return None
    rows = joined.split(ROW_SEPARATOR) if count else []
    if len(rows) != count:
        return None
    position = start + len(_KEY)
    for number, row in enumerate(rows, 1):
        if not text.startswith(row, position):
            row = _signed_form(row, text, position) or ""
            if not row:
                return None
        position += len(row)
        if text[position : position + 1] != ("]" if number == count else ","):
            return None
        position += 1
    if not rows:
        if text[position : position + 1] != "]":
            return None
        position += 1
    before, after = text[: start + len(_KEY) - 1], text[position:]
    try:
        document = json.loads(before + "0" + after)
        predicate = document["predicate"]
        if type(predicate["results"]) is not int or predicate["results"] != 0:
            return None
        predicate["results"] = _HOLE
        if _PLAIN(document) != before + _HOLE_JSON + after:
            return None
    except (ValueError, KeyError, TypeError):
        return None
    predicate["results"] = None
    return dict(document)


def _signed_form(rendered: str, text: str, position: int) -> str | None:
    """The row's entry as signing makes it, if that is the text at ``position``.

    Signing scrubs an entry and makes it JSON-safe; a row read back from JSON text
    needs the latter only for integral floats and integers beyond 2**53, so the
    scrubbed row is tried first, then the whole treatment."""
    try:
        row = json.loads(rendered)
        form = _PLAIN(scrub(row))
        if text.startswith(form, position):
            return form
        check_id, status, reason, digest, facts = (row[k] for k in _ENTRY_ORDER)
        form = _PLAIN(result_entries([(check_id, status, reason, digest, facts)])[0])
    except (ValueError, TypeError, KeyError):
        return None
    return form if text.startswith(form, position) else None


_ENTRY_ORDER = ("check", "status", "reason", "probe_digest", "facts")


def rows_match(rows: Sequence[StoredResult], signed: Sequence[Any]) -> bool:
    """The exact comparison: every row (in check-id order) is its signed entry."""
    return len(rows) == len(signed) and all(
        _row_matches(row, entry) for row, entry in zip(rows, signed, strict=True)
    )


def _row_matches(row: StoredResult, entry: Any) -> bool:
    """Whether a stored row, scrubbed and made JSON-safe as at signing, is the entry."""
    if not isinstance(entry, dict) or entry.keys() != _ENTRY_KEYS:
        return False
    try:
        return _PLAIN(_as_signed(row)) == _PLAIN(entry)
    except (TypeError, ValueError):
        return False


def _as_signed(row: StoredResult) -> dict[str, Any]:
    check_id, status, reason, probe_digest, facts_text = row
    facts = json.loads(facts_text) if facts_text else None
    return result_entries([(check_id, status, reason, probe_digest, facts)])[0]


def results_difference(rows: Sequence[StoredResult], signed: Sequence[Any]) -> str:
    """Which checks changed, went missing or were added, as far as the ids tell."""
    signed_by_id = {str(e.get("check")): e for e in signed if isinstance(e, dict)}
    stored_by_id = {row[0]: row for row in rows}
    common = signed_by_id.keys() & stored_by_id.keys()
    changed = [k for k in common if not _row_matches(stored_by_id[k], signed_by_id[k])]
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
