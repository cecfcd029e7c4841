"""The condition language shared by check evaluation and heal rules."""

from __future__ import annotations

import pytest

from osiris.conditions import FactTypeError, MissingFact, compile_condition

FACTS = {
    "name": "sshd",
    "tries": 6,
    "enabled": False,
    "profiles": [{"Name": "Domain", "Enabled": True}, {"Name": "Public", "Enabled": False}],
    "ports": [22, 443],
    "nested": {"a": {"b": 1}},
}
THRESHOLDS = {"max_tries": 4, "allowed": ["sshd", "chronyd"]}


def compiled(raw: object):
    return compile_condition(
        raw,
        known=lambda p: p[0] in FACTS,
        item_known=lambda p: (
            (lambda q: q[0] in ("Name", "Enabled", "value"))
            if p[0] in ("profiles", "ports")
            else None
        ),
        thresholds=THRESHOLDS,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"fact": "name", "eq": "sshd"}, True),
        ({"fact": "name", "ne": "sshd"}, False),
        ({"fact": "tries", "gt": {"threshold": "max_tries"}}, True),
        ({"fact": "tries", "le": 6}, True),
        ({"fact": "tries", "lt": 6}, False),
        ({"fact": "name", "in": {"threshold": "allowed"}}, True),
        ({"fact": "name", "not_in": ["x"]}, True),
        ({"fact": "name", "regex": "^ss"}, True),
        ({"fact": "ports", "contains": 22}, True),
        ({"fact": "nested.a.b", "eq": 1}, True),
        ({"fact": "nested.a.zz", "exists": False}, True),
        ({"all": [{"fact": "enabled", "eq": False}, {"fact": "tries", "ge": 6}]}, True),
        ({"any": [{"fact": "enabled", "eq": True}, {"fact": "tries", "gt": 100}]}, False),
        ({"not": {"fact": "enabled", "eq": True}}, True),
        ({"fact": "profiles", "any_item": {"fact": "Enabled", "eq": False}}, True),
        ({"fact": "profiles", "all_item": {"fact": "Enabled", "eq": True}}, False),
        ({"fact": "profiles", "no_item": {"fact": "Name", "eq": "Private"}}, True),
        ({"fact": "ports", "any_item": {"fact": "value", "eq": 443}}, True),
    ],
)
def test_operators(raw: dict, expected: bool) -> None:
    assert compiled(raw).holds(FACTS, THRESHOLDS) is expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"fact": "nope", "eq": 1}, "unknown fact 'nope'"),
        ({"fact": "name", "equals": 1}, "unknown operator 'equals'"),
        ({"fact": "name", "eq": 1, "ne": 2}, "exactly one operator"),
        ({"fact": "name", "in": "abc"}, "'in' needs a list"),
        ({"fact": "name", "regex": "("}, "bad regex"),
        ({"fact": "tries", "gt": {"threshold": "missing"}}, "unknown threshold 'missing'"),
        ({"all": []}, "non-empty list"),
        ({"fact": "name", "any_item": {"fact": "x", "eq": 1}}, "not a list with described items"),
        ("text", "must be a mapping"),
    ],
)
def test_bad_conditions_are_load_errors(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compiled(raw)


def test_missing_fact_is_reported_not_false() -> None:
    with pytest.raises(MissingFact):
        compiled({"fact": "tries", "gt": 1}).holds({}, THRESHOLDS)


def test_ordering_refuses_strings_and_booleans() -> None:
    with pytest.raises(FactTypeError):
        compiled({"fact": "tries", "gt": 1}).holds({"tries": "7"}, THRESHOLDS)
    with pytest.raises(FactTypeError):
        compiled({"fact": "tries", "gt": 0}).holds({"tries": True}, THRESHOLDS)


def test_compiled_conditions_are_frozen() -> None:
    condition = compiled({"fact": "name", "eq": "sshd"})
    with pytest.raises(AttributeError):
        condition.value = "other"
