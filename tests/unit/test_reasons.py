"""Every reason of every check reads as a sentence: no Python reprs, ever.

For each check of the shipped catalog, sample facts of the declared shape (values drawn
from what its rules compare against, its thresholds' defaults, nulls where a fact may be
null) are evaluated as a scan evaluates them; every rule must be reached, and each
rendered reason is refused if it shows ``None``, ``True``/``False``, or the brackets and
braces of a Python list or dict (rendering is strict: a fallback word is a failure too).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from osiris.catalog import load_catalog
from osiris.catalog.evaluate import evaluate
from osiris.catalog.model import Check, FactSpec, FactType
from osiris.catalog.reason import ReasonError, matching_items, render_reason
from osiris.model import Status

SAMPLES = 4000
_REPRS = ("None", "True", "False")
# values hosts report that the catalog's longer patterns match (tried when the pattern
# itself does not yield one)
_REGEX_EXAMPLES = (
    "C:\\",
    "C:\\Users\\Public\\tool.exe",
    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "C:\\Users\\ann\\AppData\\Roaming\\updater.exe",
    "ps1",
)
_NUMBERS = (-1, 0, 1, 2, 5, 30, 100, 1000, 100000)


def _literals(
    raw: Any, defaults: Mapping[str, Any], into: dict[str, list[Any]], prefix: str
) -> None:
    """Values the rules compare each fact with (``L.field`` for items of list ``L``)."""
    if isinstance(raw, list):
        for item in raw:
            _literals(item, defaults, into, prefix)
        return
    if not isinstance(raw, Mapping):
        return
    for key in ("all", "any"):
        if key in raw:
            _literals(raw[key], defaults, into, prefix)
    if "not" in raw:
        _literals(raw["not"], defaults, into, prefix)
    if "fact" not in raw:
        return
    name = prefix + raw["fact"]
    for op, value in raw.items():
        if op == "fact":
            continue
        if op in ("any_item", "all_item", "no_item"):
            _literals(value, defaults, into, name + ".")
            continue
        if isinstance(value, Mapping) and "threshold" in value:
            value = defaults[value["threshold"]]
        values = value if isinstance(value, list) else [value]
        found = into.setdefault(name, [])
        for item in values:
            if op != "regex":  # a pattern is no value; a string it matches is added below
                found.extend([item] * 4)  # the compared value itself, more than its neighbours
            if isinstance(item, int) and not isinstance(item, bool):
                found.extend((item - 1, item + 1))
            if op == "regex" and isinstance(item, str):
                found.extend([_matching(item)] * 4)


def _matching(pattern: str) -> str:
    """A string the rule's regex matches: each group's first alternative, optional
    groups left out, anchors and escapes dropped."""
    text = pattern
    text = re.sub(r"\([^()]*\)\?", "", text)
    while re.search(r"\(([^()|]*)(\|[^()]*)?\)", text):
        text = re.sub(r"\(\?i\)", "", text)
        text = re.sub(r"\(([^()|]*)(\|[^()]*)?\)", r"\1", text)
    text = text.replace("\\b", "").replace("^", "").replace("$", "").replace("\\", "")
    found = [value for value in (text, *_REGEX_EXAMPLES) if re.search(pattern, value)]
    return found[0] if found else "sample-text"


def _candidates(spec: FactSpec, name: str, literals: Mapping[str, list[Any]]) -> list[Any]:
    known = [v for v in literals.get(name, []) if _fits(v, spec.type)]
    by_type: dict[FactType, list[Any]] = {
        FactType.BOOLEAN: [True, False],
        FactType.INTEGER: [*known, *_NUMBERS],
        FactType.NUMBER: [*known, *_NUMBERS, 0.5],
        FactType.STRING: [*known, *["sample-text", "unlisted-text"] * 4],
        FactType.OBJECT: [{"Name": "sample"}],
    }
    values = _lists(spec, name, literals) if spec.type is FactType.LIST else by_type[spec.type]
    return [*values, None] if spec.nullable else values


def _lists(spec: FactSpec, name: str, literals: Mapping[str, list[Any]]) -> list[Any]:
    """The empty list, each candidate item alone, and random lists of 2 to 3 items."""
    rng = random.Random(name)
    items: list[Any]
    if isinstance(spec.items, dict):
        fields = {
            field: _candidates(item, f"{name}.{field}", literals)
            for field, item in spec.items.items()
        }
        items = [{f: rng.choice(c) for f, c in fields.items()} for _ in range(48)]
    else:
        item_type = spec.items if isinstance(spec.items, FactType) else FactType.STRING
        items = [v for v in literals.get(f"{name}.value", []) if _fits(v, item_type)]
        extra: list[Any] = (
            ["/usr/local/bin/sample", "sample"] if item_type is FactType.STRING else [7]
        )
        items += extra
    singles = [[item] for item in items]
    return [
        [],
        *singles,
        *(rng.sample(items, min(len(items), rng.randint(2, 3))) for _ in range(24)),
    ]


def _fits(value: Any, fact_type: FactType) -> bool:
    if value is None:
        return False
    if fact_type is FactType.BOOLEAN:
        return isinstance(value, bool)
    if fact_type in (FactType.INTEGER, FactType.NUMBER):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if fact_type is FactType.STRING:
        return isinstance(value, str)
    return True


def thresholds_for(check: Check) -> dict[str, Any]:
    """The defaults, with a site's entry in each list that is empty by default (an
    approval list), so the rules that read it can be reached."""
    return {
        name: ["site-listed"] if value == [] else value
        for name, value in check.default_thresholds().items()
    }


def samples(check: Check) -> Iterator[dict[str, Any]]:
    literals: dict[str, list[Any]] = {}
    defaults = thresholds_for(check)
    for rule in check.spec.evaluate:
        _literals(rule.when, defaults, literals, "")
    choices = {name: _candidates(spec, name, literals) for name, spec in check.spec.facts.items()}
    rng = random.Random(check.id)
    for _ in range(SAMPLES):
        yield {name: rng.choice(values) for name, values in choices.items()}


def _literal_text(template: str) -> str:
    return "".join(text for text, _, _, _ in string.Formatter().parse(template))


def _problem(template: str, rendered: str) -> str | None:
    literal = _literal_text(template)
    for word in _REPRS:
        if word in rendered and word not in literal:
            return f"shows {word}"
    for mark in "[]{}":
        if rendered.count(mark) > literal.count(mark):
            return f"shows {mark}"
    return None


@pytest.mark.parametrize("check", list(load_catalog()), ids=lambda c: c.id)
def test_every_reason_reads_as_a_sentence(check: Check) -> None:
    reached: set[str] = set()
    problems: dict[str, tuple[str, str]] = {}
    thresholds = thresholds_for(check)
    for facts in samples(check):
        status, _ = evaluate(check, facts, thresholds)
        if status is Status.ERROR and not any(r.status is Status.ERROR for r in check.rules):
            continue  # a fact the rules cannot compare (e.g. an order on null)
        rule = next(
            r for r in check.rules if r.condition is None or r.condition.holds(facts, thresholds)
        )
        reached.add(rule.id)
        shown = {**facts, **matching_items(rule.condition, facts, thresholds)}
        try:
            text = render_reason(rule.reason, shown, thresholds, strict=True)
        except ReasonError as exc:
            problems.setdefault(rule.id, (str(exc), repr(facts)))
            continue
        problem = _problem(rule.reason, text)
        if problem:
            problems.setdefault(rule.id, (f"{problem}: {text}", repr(facts)))
    assert not problems, problems
    unreached = {r.id for r in check.rules} - reached
    assert not unreached, f"rules never reached by the samples: {unreached}"
