"""A first PHI scrubber: SSNs, US phone numbers, e-mail addresses and dates of birth.

Pure functions. What they find is replaced by a typed placeholder (``[ssn]``,
``[phone]``, ``[email]``, ``[dob]``); everything else is left byte for byte as it was.
The scrubber is deterministic and idempotent (``scrub(scrub(x)) == scrub(x)``), so the
same input always gives the same evidence and a verifier can re-derive what was signed
from the database (DESIGN.md contract 6: scrub, canonicalise, sign, then never touch).

What it recognises:

- SSN: ``123-45-6789`` or ``123 45 6789``; nine bare digits only after a label
  (``SSN: 123456789``, ``social security number 123456789``).
- US phone numbers with separators: ``555-123-4567``, ``555.123.4567``,
  ``(555) 123-4567``, ``+1 555 123 4567``, ``+15551234567``. Ten bare digits are not
  scrubbed (they are far more often epoch times or counters).
- E-mail addresses: ``local@domain.tld``.
- Dates of birth: a date after a label (``DOB``, ``D.O.B.``, ``date of birth``,
  ``birth date``, ``born``); in mappings, any value under a key such as ``dob``,
  ``birth_date``, ``date_of_birth`` (and ``ssn``, ``social_security_number`` for SSNs).
  Other dates are kept: evidence needs patch and backup dates.

Mapping keys are scrubbed like values; two keys that scrub to the same text get ``#2``,
``#3`` ... suffixes in the order of the original keys (so input order never matters).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDERS = {"ssn": "[ssn]", "phone": "[phone]", "email": "[email]", "dob": "[dob]"}

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"  # 01/02/1980, 1-2-80
    r"|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}"  # 1980-01-02
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # January 2, 1980
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}})"  # 2 Jan 1980
)
_PATTERN = re.compile(
    # e-mail first: an address may hold digit runs that look like anything else
    r"(?P<email>(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
    r"\.[A-Za-z]{2,}(?![\w-]))"
    # labelled values keep their label and lose the value
    r"|(?P<dob_label>\b(?:dob|d\.o\.b\.?|date\s+of\s+birth|birth\s*date|born(?:\s+on)?)"
    r"(?:\s*[:=#-]\s*|\s+))(?P<dob_value>" + _DATE + r")(?![\w/-])"
    r"|(?P<ssn_label>\b(?:ssn|social\s+security(?:\s+(?:number|no\.?|num|\#))?)"
    r"(?:\s*[:=#-]\s*|\s+))(?P<ssn_value>\d{9})(?![\w-])"
    r"|(?P<ssn>(?<![\w-])\d{3}(?P<ssn_sep>[- ])\d{2}(?P=ssn_sep)\d{4}(?![\w-]))"
    r"|(?P<phone>(?<![\w.+-])(?:(?:\+?1[-. ]?)?(?:\(\d{3}\)[-. ]?\d{3}[-. ]\d{4}"
    r"|\d{3}(?P<phone_sep>[-. ])\d{3}(?P=phone_sep)\d{4})|\+1\d{10})(?![\w-]|\.\d))",
    re.IGNORECASE,
)
# a necessary condition for any match above (an @, three digits in a row, or digits
# around a date separator): text without it is returned untouched, cheaply
_MAYBE = re.compile(r"@|\d{3}|\d[/.-]\d")

_KEY_KINDS = {
    "dob": "dob",
    "birthdate": "dob",
    "dateofbirth": "dob",
    "birthday": "dob",
    "ssn": "ssn",
    "socialsecuritynumber": "ssn",
    "socialsecurityno": "ssn",
}
_KEY_TOKENS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def _replace(match: re.Match[str]) -> str:
    if match.group("email"):
        return PLACEHOLDERS["email"]
    if match.group("dob_value"):
        return match.group("dob_label") + PLACEHOLDERS["dob"]
    if match.group("ssn_value"):
        return match.group("ssn_label") + PLACEHOLDERS["ssn"]
    if match.group("ssn"):
        return PLACEHOLDERS["ssn"]
    return PLACEHOLDERS["phone"]


@functools.lru_cache(maxsize=65536)
def scrub_text(text: str) -> str:
    """``text`` with every SSN, phone number, e-mail address and labelled DOB replaced.

    Cached: the same reasons and fact values recur on every host of every run."""
    if not _MAYBE.search(text):
        return text
    # to a fixed point: a replacement can expose a neighbour that the text around it
    # hid ("123-45-6789(555) 123-4567"); each pass removes digits, so this ends
    text, replaced = _PATTERN.subn(_replace, text)
    while replaced:
        text, replaced = _PATTERN.subn(_replace, text)
    return text


@functools.lru_cache(maxsize=4096)
def _key_plan(key: str) -> tuple[str, str | None]:
    """A mapping key's scrubbed text and the kind of value it names (``dob``,
    ``ssn`` or None), judged on the scrubbed key so that scrubbing again agrees (a key
    that was an SSN becomes ``[ssn]``, which names an SSN). Cached: keys repeat."""
    scrubbed = scrub_text(key)
    return scrubbed, _key_kind(scrubbed)


def _key_kind(key: str) -> str | None:
    tokens = [t.lower() for t in _KEY_TOKENS.findall(key)]
    # the key's last words: "patient_dob", "dateOfBirth", "Social-Security-Number"
    for n in range(1, min(len(tokens), 4) + 1):
        kind = _KEY_KINDS.get("".join(tokens[-n:]))
        if kind:
            return kind
    return None


_SCALARS = (int, float, bool, type(None))


def scrub(value: Any) -> Any:
    """A scrubbed copy of a JSON-like value (mappings, lists, tuples, strings, scalars).

    Strings are scrubbed with :func:`scrub_text`; values under keys naming a date of
    birth or an SSN become the placeholder whatever their shape, unless they are
    containers (then their contents are scrubbed) or null. Tuples come back as lists.
    The input is never modified.
    """
    kind = type(value)
    if kind is str:
        return scrub_text(value)
    if kind is dict:
        return _scrub_mapping(value)
    if kind is list or kind is tuple:
        return [scrub(item) for item in value]
    if kind in _SCALARS:
        return value
    if isinstance(value, str):  # subclasses (StrEnum members) and other mappings
        return scrub_text(value)
    if isinstance(value, Mapping):
        return _scrub_mapping(value)
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def _scrub_item(item: Any, kind: str | None) -> Any:
    if kind and item is not None and not isinstance(item, Mapping | list | tuple):
        return PLACEHOLDERS[kind]
    return scrub(item)


def _plan(key: Any) -> tuple[Any, str | None]:
    return _key_plan(key) if isinstance(key, str) else (key, None)


def _scrub_mapping(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key, item in mapping.items():
        new_key, kind = _key_plan(key) if type(key) is str else _plan(key)
        if new_key != key:
            return _scrub_renamed(mapping)
        if kind:
            out[key] = _scrub_item(item, kind)
        elif type(item) is str:
            out[key] = scrub_text(item)
        else:
            out[key] = scrub(item)
    return out


def _scrub_renamed(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    """Some keys change: take them in key order, so colliding keys get the same
    suffixes whatever the input order."""
    out: dict[Any, Any] = {}
    for key, item in sorted(mapping.items(), key=lambda kv: str(kv[0])):
        new_key, kind = _plan(key)
        if new_key in out:
            n = 2
            while f"{new_key}#{n}" in out:
                n += 1
            new_key = f"{new_key}#{n}"
        out[new_key] = _scrub_item(item, kind)
    return out
