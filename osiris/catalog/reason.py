"""A rule's reason as a sentence a technician reads: facts filled in, never Python reprs.

A reason names facts and thresholds as ``{fact}`` and ``{threshold.NAME}``. Values are
shown for people:

- a list as ``a, b`` (an empty one as ``none``); a list of objects by the item field the
  placeholder names, ``{certificates:path}`` (objects alike);
- a number with its format spec as written (``{mode:o}``);
- a list a rule quantifies with ``any_item`` shows only the items that made the rule hold
  (the set-user-ID files off the allowed list, not every one);
- null as ``unknown`` and a boolean as ``yes``/``no``. Both are fallbacks: a reason should
  not name a fact that can be null or boolean where its rule holds. ``strict=True`` (the
  catalog's tests) raises :class:`ReasonError` for them, and for an object shown without a
  field, instead of falling back.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from osiris.conditions import AllOf, AnyOf, Condition, Quantified
from osiris.errors import OsirisError


class ReasonError(OsirisError):
    """A reason would show a value people cannot read (strict rendering only)."""


class _Shown(str):
    """Text shown as it stands, whatever the format spec (a placeholder left as written)."""


def matching_items(
    condition: Condition | None, facts: Mapping[str, Any], thresholds: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """For each list fact the (holding) condition quantifies with ``any_item``: the items
    that satisfy it. Quantifiers under ``not`` are left alone (their items are the ones
    that did *not* match)."""
    found: dict[str, list[Any]] = {}
    for quantified in _any_items(condition):
        name = quantified.path[0]
        items = facts.get(name)
        if len(quantified.path) != 1 or not isinstance(items, list):
            continue
        matched = [item for item in items if quantified.inner.holds(_scope(item), thresholds)]
        if matched:
            known = found.setdefault(name, [])
            known.extend(item for item in matched if item not in known)
    return {name: [i for i in facts[name] if i in chosen] for name, chosen in found.items()}


def _scope(item: Any) -> Mapping[str, Any]:
    # a list of scalars is quantified with {fact: value, ...} (osiris.conditions)
    return item if isinstance(item, Mapping) else {"value": item}


def _any_items(condition: Condition | None) -> list[Quantified]:
    if isinstance(condition, Quantified):
        return [condition] if condition.quantifier == "any_item" else []
    if isinstance(condition, (AllOf, AnyOf)):
        return [q for item in condition.items for q in _any_items(item)]
    return []


def render_reason(
    template: str,
    facts: Mapping[str, Any],
    thresholds: Mapping[str, Any],
    *,
    strict: bool = False,
) -> str:
    """``template`` with facts and thresholds filled in (placeholders are checked at load:
    only declared facts and thresholds)."""
    return _Formatter(facts, thresholds, strict).vformat(template, (), {})


class _Formatter(string.Formatter):
    def __init__(
        self, facts: Mapping[str, Any], thresholds: Mapping[str, Any], strict: bool
    ) -> None:
        self._facts = facts
        self._thresholds = thresholds
        self._strict = strict

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        root, _, rest = field_name.partition(".")
        if root == "threshold" and rest in self._thresholds:
            return self._thresholds[rest], field_name
        if root in self._facts and not rest:
            return self._facts[root], field_name
        if self._strict:
            raise ReasonError(f"'{{{field_name}}}' names nothing the check reported")
        return _Shown("{" + field_name + "}"), field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, _Shown):
            return str(value)
        if value is None:
            return self._fallback("null", "unknown")
        if isinstance(value, bool):
            return self._fallback("a yes/no value", "yes" if value else "no")
        if isinstance(value, list):
            if not value:
                return "none"
            return ", ".join(self._item(item, format_spec) for item in value)
        if isinstance(value, Mapping):
            return self._item(value, format_spec)
        try:
            return format(value, format_spec)
        except (ValueError, TypeError):
            return str(value)

    def _item(self, item: Any, field: str) -> str:
        if isinstance(item, Mapping):
            if field in item:
                return self.format_field(item[field], "")
            if self._strict:
                raise ReasonError(f"an object is shown without a field to show ({sorted(item)})")
            return " ".join(f"{k} {self.format_field(v, '')}" for k, v in item.items())
        return self.format_field(item, "")

    def _fallback(self, what: str, shown: str) -> str:
        if self._strict:
            raise ReasonError(f"a reason would show {what}")
        return shown
