"""Evaluate a check's facts into a status and a reason.

A probe that could not read a source it needs says so in the reserved fact
``_unreadable`` (osiris.scan.bundle): the result is ``error``, naming what was not read,
before anything else is looked at. Facts are then validated against the declared shape: a
missing or mistyped fact makes the result ``error`` (never ``pass``). Rules are then tried
in order; the first that holds decides. The last rule has no condition and is the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from osiris.catalog.model import Check, FactSpec, FactType
from osiris.catalog.reason import matching_items, render_reason
from osiris.conditions import FactTypeError, MissingFact
from osiris.model import Status

_PY_TYPES: dict[FactType, tuple[type, ...]] = {
    FactType.STRING: (str,),
    FactType.INTEGER: (int,),
    FactType.NUMBER: (int, float),
    FactType.BOOLEAN: (bool,),
    FactType.LIST: (list,),
    FactType.OBJECT: (dict,),
}


def shape_error(facts: Mapping[str, Any], shape: Mapping[str, FactSpec]) -> str | None:
    """Why ``facts`` do not match ``shape``, or None when they do."""
    for name, spec in shape.items():
        if name not in facts:
            return f"probe did not report fact '{name}'"
        problem = _value_error(name, facts[name], spec)
        if problem:
            return problem
    return None


def _value_error(name: str, value: Any, spec: FactSpec) -> str | None:
    if value is None:
        return None if spec.nullable else f"fact '{name}' is null"
    if not _is_type(value, spec.type):
        return f"fact '{name}' should be {spec.type}, got {type(value).__name__}"
    if spec.type is FactType.LIST and spec.items is not None:
        for index, item in enumerate(value):
            if isinstance(spec.items, FactType):
                if not _is_type(item, spec.items):
                    return f"fact '{name}[{index}]' should be {spec.items}"
            elif not isinstance(item, dict):
                return f"fact '{name}[{index}]' should be an object"
            else:
                problem = shape_error(item, spec.items)
                if problem:
                    return f"in '{name}[{index}]': {problem}"
    return None


UNREADABLE_FACT = "_unreadable"


def unreadable(facts: Mapping[str, Any]) -> list[str]:
    """What the probe could not read (the reserved fact ``_unreadable``), if anything."""
    value = facts.get(UNREADABLE_FACT)
    if value is None:
        return []
    if not isinstance(value, list) or not value:
        # a malformed marker still means something was not read: never let it pass
        return [str(value) or "a source the probe needs"]
    return [str(item) for item in value]


def unreadable_reason(what: list[str]) -> str:
    names = ", ".join(what[:-1]) + " and " + what[-1] if len(what) > 1 else what[0]
    return f"could not read {names}: scan as root (or with become) to decide this check"


def _is_type(value: Any, fact_type: FactType) -> bool:
    # JSON true is not an integer, even though Python's bool is an int
    if isinstance(value, bool) and fact_type is not FactType.BOOLEAN:
        return False
    return isinstance(value, _PY_TYPES[fact_type])


def evaluate(
    check: Check, facts: Mapping[str, Any], thresholds: Mapping[str, Any]
) -> tuple[Status, str]:
    """The status and human reason for ``facts`` under ``thresholds``."""
    unread = unreadable(facts)
    if unread:
        return Status.ERROR, unreadable_reason(unread)
    problem = shape_error(facts, check.spec.facts)
    if problem:
        return Status.ERROR, problem
    for rule in check.rules:
        try:
            if rule.condition is None or rule.condition.holds(facts, thresholds):
                shown = {**facts, **matching_items(rule.condition, facts, thresholds)}
                return rule.status, render_reason(rule.reason, shown, thresholds)
        except (MissingFact, FactTypeError) as exc:
            return Status.ERROR, str(exc)
    raise AssertionError("unreachable: the last rule has no condition")
