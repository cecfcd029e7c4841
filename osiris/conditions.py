"""A small declarative condition language over facts.

Used by check evaluation (catalog) and by L1 heal rules. A condition is YAML like::

    {fact: permit_root_login, eq: "yes"}
    {fact: max_auth_tries, gt: {threshold: max_auth_tries}}
    {any: [{fact: a, exists: true}, {not: {fact: b, in: [1, 2]}}]}
    {fact: profiles, any_item: {fact: Enabled, eq: false}}

Operators: eq, ne, in, not_in, gt, ge, lt, le, contains, regex, exists, bits_any (a
mask, for file modes). Combinators:
all, any, not. Quantifiers over a list fact: any_item, all_item, no_item (the inner
condition's ``fact`` names a field of each item). A value may be ``{threshold: NAME}``,
resolved at evaluation time so sites can override it.

Compiled conditions are frozen dataclasses: rules and checks cannot be mutated at run
time (a lesson of the system this replaces).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from osiris.errors import OsirisError

OPERATORS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "ge",
    "lt",
    "le",
    "contains",
    "regex",
    "exists",
    "bits_any",
)
QUANTIFIERS = ("any_item", "all_item", "no_item")


class MissingFact(OsirisError):
    """A condition needed a fact the probe did not report."""

    def __init__(self, path: str) -> None:
        super().__init__(f"fact '{path}' is missing")
        self.path = path


class FactTypeError(OsirisError):
    """A fact has a type the operator cannot compare."""


@dataclass(frozen=True)
class ThresholdRef:
    name: str


Operand = Any  # a literal, or a ThresholdRef


def _resolve(value: Operand, thresholds: Mapping[str, Any]) -> Any:
    if isinstance(value, ThresholdRef):
        return thresholds[value.name]
    return value


def _lookup(scope: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = scope
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            raise MissingFact(".".join(path))
        current = current[part]
    return current


def _ordered(op: str, left: Any, right: Any) -> bool:
    numeric = (int, float)
    if isinstance(left, bool) or not isinstance(left, numeric) or not isinstance(right, numeric):
        raise FactTypeError(f"cannot compare {left!r} {op} {right!r}")
    return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]


def _apply(op: str, left: Any, right: Any) -> bool:
    if left is None and op not in ("eq", "ne", "in", "not_in"):
        return False  # a nullable fact that is null has no order, pattern or bits
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op == "in":
        return left in right
    if op == "not_in":
        return left not in right
    if op in ("gt", "ge", "lt", "le"):
        return _ordered(op, left, right)
    if op == "contains":
        if not isinstance(left, (str, list, tuple, dict)):
            raise FactTypeError(f"cannot look for {right!r} in {left!r}")
        return right in left
    if op == "bits_any":  # e.g. a file mode against 0o022 (group or world writable)
        if isinstance(left, bool) or not isinstance(left, int):
            raise FactTypeError(f"bits_any needs an integer, got {left!r}")
        return bool(left & right)
    if op == "regex":
        if not isinstance(left, str):
            raise FactTypeError(f"regex needs a string, got {left!r}")
        return re.search(right, left) is not None
    raise AssertionError(op)  # compile() admits only known operators


class Condition:
    """Base of compiled conditions."""

    def holds(self, scope: Mapping[str, Any], thresholds: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def facts_used(self) -> set[str]:
        """Top-level fact names this condition reads (for validation and docs)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Compare(Condition):
    path: tuple[str, ...]
    op: str
    value: Operand

    def holds(self, scope: Mapping[str, Any], thresholds: Mapping[str, Any]) -> bool:
        if self.op == "exists":
            try:
                found = _lookup(scope, self.path) is not None
            except MissingFact:
                found = False
            return found == bool(self.value)
        return _apply(self.op, _lookup(scope, self.path), _resolve(self.value, thresholds))

    def facts_used(self) -> set[str]:
        return {self.path[0]}


@dataclass(frozen=True)
class AllOf(Condition):
    items: tuple[Condition, ...]

    def holds(self, scope: Mapping[str, Any], thresholds: Mapping[str, Any]) -> bool:
        return all(c.holds(scope, thresholds) for c in self.items)

    def facts_used(self) -> set[str]:
        return set().union(*(c.facts_used() for c in self.items))


@dataclass(frozen=True)
class AnyOf(Condition):
    items: tuple[Condition, ...]

    def holds(self, scope: Mapping[str, Any], thresholds: Mapping[str, Any]) -> bool:
        return any(c.holds(scope, thresholds) for c in self.items)

    def facts_used(self) -> set[str]:
        return set().union(*(c.facts_used() for c in self.items))


@dataclass(frozen=True)
class Not(Condition):
    item: Condition

    def holds(self, scope: Mapping[str, Any], thresholds: Mapping[str, Any]) -> bool:
        return not self.item.holds(scope, thresholds)

    def facts_used(self) -> set[str]:
        return self.item.facts_used()


@dataclass(frozen=True)
class Quantified(Condition):
    path: tuple[str, ...]
    quantifier: str
    inner: Condition

    def holds(self, scope: Mapping[str, Any], thresholds: Mapping[str, Any]) -> bool:
        items = _lookup(scope, self.path)
        if not isinstance(items, list):
            raise FactTypeError(f"'{'.'.join(self.path)}' is not a list")
        results = (self.inner.holds(_as_scope(item), thresholds) for item in items)
        if self.quantifier == "any_item":
            return any(results)
        if self.quantifier == "all_item":
            return all(results)
        return not any(results)

    def facts_used(self) -> set[str]:
        return {self.path[0]}


def _as_scope(item: Any) -> Mapping[str, Any]:
    # a list of scalars is quantified with {fact: value, ...}
    return item if isinstance(item, Mapping) else {"value": item}


# ``known(path)`` answers whether a fact path exists in the declared shape; ``item_known``
# gives the checker for items of a list fact (None when items are not described).
FactChecker = Callable[[tuple[str, ...]], bool]
ItemChecker = Callable[[tuple[str, ...]], "FactChecker | None"]


def compile_condition(
    raw: Any,
    *,
    known: FactChecker,
    item_known: ItemChecker,
    thresholds: Mapping[str, Any],
) -> Condition:
    """Compile raw YAML into a Condition; ValueError names the problem and its place."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"a condition must be a mapping, got {type(raw).__name__}")
    combinators = [k for k in ("all", "any", "not") if k in raw]
    if combinators:
        if len(raw) != 1:
            raise ValueError(f"'{combinators[0]}' must stand alone in its condition")
        key = combinators[0]
        compile_ = lambda r: compile_condition(  # noqa: E731
            r, known=known, item_known=item_known, thresholds=thresholds
        )
        if key == "not":
            return Not(compile_(raw["not"]))
        if not isinstance(raw[key], list) or not raw[key]:
            raise ValueError(f"'{key}' needs a non-empty list of conditions")
        items = tuple(compile_(r) for r in raw[key])
        return AllOf(items) if key == "all" else AnyOf(items)
    return _compile_leaf(raw, known=known, item_known=item_known, thresholds=thresholds)


def _compile_leaf(
    raw: Mapping[str, Any],
    *,
    known: FactChecker,
    item_known: ItemChecker,
    thresholds: Mapping[str, Any],
) -> Condition:
    if "fact" not in raw or not isinstance(raw["fact"], str):
        raise ValueError("a condition needs 'fact' (or all / any / not)")
    path = tuple(raw["fact"].split("."))
    if not known(path):
        raise ValueError(f"unknown fact '{raw['fact']}' (not declared in facts)")
    ops = [k for k in raw if k != "fact"]
    if len(ops) != 1:
        raise ValueError(f"condition on '{raw['fact']}' needs exactly one operator, got {ops}")
    op = ops[0]
    if op in QUANTIFIERS:
        inner_known = item_known(path)
        if inner_known is None:
            raise ValueError(f"'{raw['fact']}' is not a list with described items")
        inner = compile_condition(
            raw[op], known=inner_known, item_known=lambda _p: None, thresholds=thresholds
        )
        return Quantified(path, op, inner)
    if op not in OPERATORS:
        raise ValueError(f"unknown operator '{op}' (one of {', '.join(OPERATORS + QUANTIFIERS)})")
    value = _operand(raw[op], thresholds)
    if op == "bits_any":
        value = _mask(value)
    if op in ("in", "not_in") and not isinstance(value, (list, ThresholdRef)):
        raise ValueError(f"'{op}' needs a list")
    if op == "regex":
        try:
            re.compile(value)
        except (re.error, TypeError) as exc:
            raise ValueError(f"bad regex {value!r}: {exc}") from exc
    return Compare(path, op, value)


def _mask(value: Any) -> int:
    """A bit mask, written as an integer or a string such as "0o022"."""
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            pass
    elif isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"'bits_any' needs an integer mask such as \"0o022\", got {value!r}")


def _operand(value: Any, thresholds: Mapping[str, Any]) -> Operand:
    if isinstance(value, Mapping):
        if set(value) != {"threshold"}:
            raise ValueError(f"a mapping value must be {{threshold: NAME}}, got {dict(value)}")
        name = value["threshold"]
        if name not in thresholds:
            raise ValueError(f"unknown threshold '{name}'")
        return ThresholdRef(name)
    return value
