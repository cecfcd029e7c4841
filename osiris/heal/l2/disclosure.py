"""What of a host's facts the L2 planner may send to the LLM, a third party.

Strict by construction, where the evidence scrubber (osiris.privacy) is precise: no
text read from a host goes out unless the catalog knows it. A fact goes out as:

- a number or a boolean: as it is (counts, days, modes, flags);
- text, or an item of a list of text: as it is when it is in the fact's declared
  vocabulary (``l2: {values: [...]}`` in the check file) or is a value of one of the
  check's *default* thresholds (``root``, ``/usr/bin/passwd``); any other text becomes a
  placeholder, ``<text 1>``, or for a path under a well-known system directory
  ``/usr/local/sbin/<path 2>``, so the planner still sees where a file lives. One value
  gets one placeholder throughout a request, so "the same file twice" stays visible;
- ``l2: count``: a list as its length only; ``l2: omit``: nothing;
- lists of objects: each field by its own declaration; free-form objects: not at all.

Site thresholds go the same way: a value the site left at its default is catalog data;
an overridden number is sent, overridden text is replaced like host text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from osiris.catalog.model import Check, FactSpec, FactType, L2Disclosure, L2Values

# directories whose names say something about a file and nothing about a person
_UNIX_DIRS = (
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/lib",
    "/usr/libexec",
    "/usr/local/lib",
    "/lib",
    "/opt",
    "/etc",
    "/var/lib",
    "/var/log",
    "/var",
    "/tmp",
    "/srv",
    "/home",
    "/root",
    "/boot",
    "/mnt",
    "/media",
    "/run",
)
_WINDOWS_DIRS = (
    "C:\\Windows\\System32",
    "C:\\Windows",
    "C:\\Program Files (x86)",
    "C:\\Program Files",
    "C:\\ProgramData",
    "C:\\Users",
)
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:\\")
OBJECT = "<object>"  # what stands for a value of no declared shape


class _Placeholders:
    """One placeholder per distinct value, numbered in order of first appearance."""

    def __init__(self) -> None:
        self._given: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if text not in self._given:
            number = len(self._given) + 1
            self._given[text] = _placeholder(text, number)
        return self._given[text]


def _placeholder(text: str, number: int) -> str:
    if text.startswith("/"):
        for directory in _UNIX_DIRS:
            if text.startswith(directory + "/"):
                return f"{directory}/<path {number}>"
        return f"<path {number}>"
    if _WINDOWS_PATH.match(text):
        folded = text.casefold()
        for directory in _WINDOWS_DIRS:
            if folded.startswith(directory.casefold() + "\\"):
                return f"{directory}\\<path {number}>"
        return f"<path {number}>"
    return f"<text {number}>"


class Disclosure:
    """The facts and thresholds of one request, as the planner may send them."""

    def __init__(self, check: Check) -> None:
        self._check = check
        self._known = frozenset(_texts(check.default_thresholds()))
        self._placeholder = _Placeholders()

    def facts(self, facts: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The check's declared facts (others are dropped), each as its ``l2`` allows."""
        if facts is None:
            return None
        shown: dict[str, Any] = {}
        for name, spec in self._check.spec.facts.items():
            if name in facts and spec.l2 is not L2Disclosure.OMIT:
                shown[name] = self._value(facts[name], spec)
        return shown

    def thresholds(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The site's thresholds: defaults as they are, overrides like host values."""
        defaults = self._check.default_thresholds()
        return {
            name: value if name in defaults and value == defaults[name] else self._loose(value)
            for name, value in values.items()
        }

    def _value(self, value: Any, spec: FactSpec) -> Any:
        if value is None or _is_scalar(value):
            return value
        if isinstance(value, str):
            return self._text(value, spec.l2)
        if not isinstance(value, list) or spec.type is not FactType.LIST:
            return OBJECT
        if spec.l2 is L2Disclosure.COUNT:
            return {"count": len(value)}
        items = spec.items
        if isinstance(items, dict):
            return [self._record(item, items) for item in value]
        if isinstance(items, FactType):
            item_spec = FactSpec(type=items, l2=spec.l2 if isinstance(spec.l2, L2Values) else None)
            return [self._value(item, item_spec) for item in value]
        return [self._loose(item) for item in value]

    def _record(self, item: Any, fields: Mapping[str, FactSpec]) -> Any:
        if not isinstance(item, Mapping):
            return self._loose(item)
        return {
            name: self._value(item[name], spec)
            for name, spec in fields.items()
            if name in item and spec.l2 is not L2Disclosure.OMIT
        }

    def _text(self, text: str, l2: L2Values | L2Disclosure | None) -> str:
        if isinstance(l2, L2Values) and text in l2.values:
            return text
        return text if text in self._known else self._placeholder(text)

    def _loose(self, value: Any) -> Any:
        """A value of no declared shape: scalars and known text as they are."""
        if value is None or _is_scalar(value):
            return value
        if isinstance(value, str):
            return self._text(value, None)
        if isinstance(value, list):
            return [self._loose(v) for v in value]
        return OBJECT


def _is_scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float)


def _texts(value: Any) -> Iterator[str]:
    """Every piece of text in a (default threshold) value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
