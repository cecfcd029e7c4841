"""The PHI scrubber: SSNs, MRNs, dates of birth, phone numbers, e-mail and street
addresses, person names in known fields (the rules, and why they are versioned:
:mod:`osiris.privacy.rules`).

Pure functions. What they find is replaced by a typed placeholder (``[ssn]``,
``[mrn]``, ``[dob]``, ``[phone]``, ``[email]``, ``[address]``, ``[name]``); everything
else is left byte for byte as it was. A scrubber is deterministic and idempotent
(``scrub(scrub(x)) == scrub(x)``), so the same input always gives the same evidence
and a verifier can re-derive what was signed from the database (docs/architecture.md, contract 6:
scrub, canonicalise, sign, then never touch).

:func:`scrub` and :func:`scrub_text` use the current rules (:data:`SCRUBBER_VERSION`):
for the L2 planner's prompts and for new evidence. :func:`scrubber` gives the rules of
an older version, for verifying evidence signed under them.

Text: SSNs (``123-45-6789``; nine bare digits only after a label); US phone numbers
with separators (ten bare digits are more often epoch times or counters); e-mail
addresses; and, after a label, dates of birth, MRNs and names. Other dates are kept:
evidence needs patch and backup dates. Mappings: values under keys naming a kind of
PHI (``dob``, ``patient_id``, ``full_name`` ...) become its placeholder whatever their
shape, unless they are mappings (then their own keys decide) or null. Mapping keys are
scrubbed like values; two keys that scrub to the same text get ``#2``, ``#3`` ...
suffixes in the order of the original keys (so input order never matters).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from osiris.errors import OsirisError
from osiris.privacy.rules import PLACEHOLDERS, RULES, PhiKind, Rules

__all__ = [
    "PLACEHOLDERS",
    "SCRUBBER_VERSION",
    "PhiKind",
    "Scrubber",
    "UnknownScrubberVersion",
    "scrub",
    "scrub_text",
    "scrubber",
]


@dataclass(frozen=True)
class Scrubber:
    """One version's rules, ready to use: ``text`` scrubs a string, ``value`` a
    JSON-like value (mappings, lists, tuples, strings, scalars; tuples come back as
    lists; the input is never modified)."""

    version: int
    text: Callable[[str], str]
    value: Callable[[Any], Any]


class UnknownScrubberVersion(OsirisError, ValueError):
    """Evidence names scrubber rules this Osiris does not have (signed by a newer one)."""


_KEY_TOKENS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_SCALARS = (int, float, bool, type(None))


def _key_kind(key: str, kinds: Mapping[str, PhiKind]) -> PhiKind | None:
    tokens = [t.lower() for t in _KEY_TOKENS.findall(key)]
    # the key's last words: "patient_dob", "dateOfBirth", "Social-Security-Number"
    for n in range(1, min(len(tokens), 4) + 1):
        kind = kinds.get("".join(tokens[-n:]))
        if kind:
            return kind
    return None


def _build(rules: Rules) -> Scrubber:
    """A :class:`Scrubber` for ``rules``: closures over them, with their own caches."""
    passes = [(p.maybe, p.pattern.subn, p.replace) for p in rules.passes]
    kinds, cover_lists = rules.key_kinds, rules.kinds_cover_lists

    @functools.lru_cache(maxsize=65536)
    def text(value: str) -> str:
        # cached: the same reasons and fact values recur on every host of every run.
        # To a fixed point: a replacement can expose a neighbour that the text around it
        # hid ("123-45-6789(555) 123-4567"); no rule matches a placeholder, so this ends
        while True:
            replaced = 0
            for maybe, subn, replace in passes:
                if maybe(value):
                    value, found = subn(replace, value)
                    replaced += found
            if not replaced:
                return value

    @functools.lru_cache(maxsize=4096)
    def key_plan(key: str) -> tuple[str, PhiKind | None]:
        # judged on the scrubbed key, so that scrubbing again agrees (a key that was an
        # SSN becomes "[ssn]", which names an SSN)
        scrubbed = text(key)
        return scrubbed, _key_kind(scrubbed, kinds)

    def plan(key: Any) -> tuple[Any, PhiKind | None]:
        return key_plan(key) if isinstance(key, str) else (key, None)

    def value(item: Any) -> Any:
        kind = type(item)
        if kind is str:
            return text(item)
        if kind is dict:
            return mapping(item)
        if kind is list or kind is tuple:
            return [value(x) for x in item]
        if kind in _SCALARS:
            return item
        if isinstance(item, str):  # subclasses (StrEnum members) and other mappings
            return text(item)
        if isinstance(item, Mapping):
            return mapping(item)
        if isinstance(item, list | tuple):
            return [value(x) for x in item]
        return item

    def under(item: Any, kind: PhiKind) -> Any:
        """A value under a key naming ``kind``."""
        if item is None or isinstance(item, Mapping):
            return value(item)
        if isinstance(item, list | tuple):
            return [under(x, kind) for x in item] if cover_lists else value(item)
        return kind.placeholder

    def mapping(items: Mapping[Any, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, item in items.items():
            new_key, kind = key_plan(key) if type(key) is str else plan(key)
            if new_key != key:
                return renamed(items)
            if kind:
                out[key] = under(item, kind)
            elif type(item) is str:
                out[key] = text(item)
            else:
                out[key] = value(item)
        return out

    def renamed(items: Mapping[Any, Any]) -> dict[Any, Any]:
        # some keys change: take them in key order, so colliding keys get the same
        # suffixes whatever the input order
        out: dict[Any, Any] = {}
        for key, item in sorted(items.items(), key=lambda kv: str(kv[0])):
            new_key, kind = plan(key)
            if new_key in out:
                n = 2
                while f"{new_key}#{n}" in out:
                    n += 1
                new_key = f"{new_key}#{n}"
            out[new_key] = under(item, kind) if kind else value(item)
        return out

    return Scrubber(rules.version, text, value)


_SCRUBBERS = {rules.version: _build(rules) for rules in RULES}
SCRUBBER_VERSION = RULES[-1].version
"""The rules new evidence is scrubbed with; every signed predicate names its version."""
_CURRENT = _SCRUBBERS[SCRUBBER_VERSION]
_scrub_value = _CURRENT.value
_scrub_text = _CURRENT.text


def scrubber(version: int = SCRUBBER_VERSION) -> Scrubber:
    """The scrubber with the rules of ``version`` (default: the current rules).

    Raises :class:`UnknownScrubberVersion` for a version this Osiris does not have."""
    found = _SCRUBBERS.get(version) if type(version) is int else None
    if found is None:
        raise UnknownScrubberVersion(
            f"PHI scrubber rules version {version!r} are unknown to this Osiris (it knows"
            f" 1 to {SCRUBBER_VERSION}); verify with the Osiris that signed the evidence"
        )
    return found


def scrub(value: Any) -> Any:
    """A scrubbed copy of a JSON-like value, with the current rules (see the module
    docstring). Tuples come back as lists; the input is never modified."""
    return _scrub_value(value)


def scrub_text(text: str) -> str:
    """``text`` with every piece of PHI the current rules find replaced."""
    return _scrub_text(text)
