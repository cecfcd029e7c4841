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
must be the text there. Rows are scrubbed with the rules the statement names
(``phi_scrubber``, which canonical order puts before ``results``; found by text while
walking, and confirmed once the rest is parsed), so evidence signed under older rules
still verifies. Then only the rest of the statement (a few hundred bytes) is parsed,
with the array replaced by a ``NaN`` (a token no JSON payload holds; the rest must hold
no ``NaN`` or ``Infinity``): the predicate's ``results`` must be that token, so the array
walked is the statement's one ``results`` value (the last one, as a full parse would
read duplicate keys), and nothing else in the payload was skipped. Anything unexpected
(a row that does not match, a payload laid out another way) falls back to parsing the
whole payload and to :func:`rows_match`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from osiris.evidence.statement import SCRUBBER_FIELD, result_entries, signed_scrubber
from osiris.privacy import Scrubber, UnknownScrubberVersion, scrubber

ROW_SEPARATOR = "\x01"
"""Joins rendered rows: no rendered row holds it (JSON escapes control characters)."""

StoredResult = tuple[str, str, str, str | None, str | None]
"""A ``results`` row: check id, status, reason, probe digest, facts as stored (JSON)."""

_PLAIN = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_KEY = '"results":['
_HOLE = object()
"""What the results array reads as once replaced by ``NaN`` (the only non-JSON constant
Python's parser reads besides ``Infinity`` and ``-Infinity``)."""
_HOLED = json.JSONDecoder(parse_constant=lambda _name: _HOLE)
_ENTRY_KEYS = {"check", "status", "reason", "probe_digest", "facts"}
_VERSION_KEY = f'"{SCRUBBER_FIELD}":'


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
    rules = _rules_named(text, start)
    if rules is None:
        return None
    position = start + len(_KEY)
    for number, row in enumerate(rows, 1):
        if not text.startswith(row, position):
            row = _signed_form(row, text, position, rules) or ""
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
    if any(token in part for token in ("NaN", "Infinity") for part in (before, after)):
        return None  # the hole must be the one constant the parser meets
    try:
        document = _HOLED.decode(before + "NaN" + after)
        predicate = document["predicate"]
        if predicate["results"] is not _HOLE:
            return None  # the array walked is not the predicate's results
        if signed_scrubber(predicate) is not rules:
            return None  # the version found by text is not the predicate's own
    except (ValueError, KeyError, TypeError):
        return None
    predicate["results"] = None
    return dict(document)


def _rules_named(text: str, end: int) -> Scrubber | None:
    """The scrubber named by the first ``phi_scrubber`` key before ``end`` (version 1
    when there is none; None when it names no version this Osiris has). Only a guess
    until the statement is parsed: :func:`_read_with_rows` then confirms it."""
    at = text.find(_VERSION_KEY, 0, end)
    if at < 0:
        return scrubber(1)
    digits = at + len(_VERSION_KEY)
    stop = digits
    while stop < end and text[stop].isdigit():
        stop += 1
    try:
        return scrubber(int(text[digits:stop]))
    except (ValueError, UnknownScrubberVersion):
        return None


def _signed_form(rendered: str, text: str, position: int, rules: Scrubber) -> str | None:
    """The row's entry as signing with ``rules`` makes it, if that is the text at
    ``position``.

    The forms signing may give a row depend on the row and the rules alone, and a
    host's rows mostly repeat from one scan to the next: they are kept for the rows
    seen last (:data:`_FORMS_KEPT`), so most rows are scrubbed once per process."""
    key = (rules.version, rendered)
    forms = _FORMS.get(key)
    if forms is None:
        if len(_FORMS) >= _FORMS_KEPT:
            _FORMS.clear()
        forms = _FORMS[key] = _forms(rendered, rules)
    return next((form for form in forms if text.startswith(form, position)), None)


def _forms(rendered: str, rules: Scrubber) -> tuple[str, ...]:
    """Signing scrubs an entry and makes it JSON-safe; a row read back from JSON text
    needs the latter only for integral floats and integers beyond 2**53, so the
    scrubbed row comes first, then the whole treatment (when it differs)."""
    try:
        row = json.loads(rendered)
        scrubbed = _PLAIN(rules.value(row))
    except (ValueError, TypeError):
        return ()
    try:
        check_id, status, reason, digest, facts = (row[k] for k in _ENTRY_ORDER)
        safe = _PLAIN(result_entries([(check_id, status, reason, digest, facts)], rules)[0])
    except (ValueError, TypeError, KeyError):
        return (scrubbed,)
    return (scrubbed,) if safe == scrubbed else (scrubbed, safe)


_FORMS: dict[tuple[int, str], tuple[str, ...]] = {}
_FORMS_KEPT = 20_000  # rows (a few hundred bytes each, twice)


_ENTRY_ORDER = ("check", "status", "reason", "probe_digest", "facts")


def rows_match(
    rows: Sequence[StoredResult], signed: Sequence[Any], rules: Scrubber | None = None
) -> bool:
    """The exact comparison: every row (in check-id order) is its signed entry, the rows
    scrubbed with ``rules`` (those the statement names; default: the current rules)."""
    return len(rows) == len(signed) and all(
        _row_matches(row, entry, rules) for row, entry in zip(rows, signed, strict=True)
    )


def _row_matches(row: StoredResult, entry: Any, rules: Scrubber | None) -> bool:
    """Whether a stored row, scrubbed and made JSON-safe as at signing, is the entry."""
    if not isinstance(entry, dict) or entry.keys() != _ENTRY_KEYS:
        return False
    try:
        return _PLAIN(_as_signed(row, rules)) == _PLAIN(entry)
    except (TypeError, ValueError):
        return False


def _as_signed(row: StoredResult, rules: Scrubber | None) -> dict[str, Any]:
    check_id, status, reason, probe_digest, facts_text = row
    facts = json.loads(facts_text) if facts_text else None
    return result_entries([(check_id, status, reason, probe_digest, facts)], rules)[0]


def results_difference(
    rows: Sequence[StoredResult], signed: Sequence[Any], rules: Scrubber | None = None
) -> str:
    """Which checks changed, went missing or were added, as far as the ids tell."""
    signed_by_id = {str(e.get("check")): e for e in signed if isinstance(e, dict)}
    stored_by_id = {row[0]: row for row in rows}
    common = signed_by_id.keys() & stored_by_id.keys()
    changed = [k for k in common if not _row_matches(stored_by_id[k], signed_by_id[k], rules)]
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
