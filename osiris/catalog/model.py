"""The shape of a check file, and the compiled, frozen check.

A check declares its probe and the *shape of the facts the probe prints* side by side,
so the evaluation can only name facts the probe promises (a fact name the probe does not
declare is a load error, not a check that can never pass).
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from osiris.conditions import Condition, compile_condition
from osiris.errors import OsirisError
from osiris.model import Platform, Role, Severity, Status

CHECK_ID_PATTERN = r"^(lnx|win)_[a-z0-9]+(_[a-z0-9]+)*$"
# an evaluate rule's id: what learned patterns and promoted L1 rules match on, so it must
# survive edits that reorder a check's rules (starts with a letter: never read as a number)
RULE_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class FactType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    LIST = "list"
    OBJECT = "object"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class L2Values(_Frozen):
    """A closed vocabulary (sshd keywords, auditpol settings): a value in it carries no
    host data and goes to the L2 planner as it is; any other value is replaced."""

    values: tuple[str, ...] = Field(min_length=1)


class L2Disclosure(StrEnum):
    COUNT = "count"  # a list: only how many items it has
    OMIT = "omit"  # nothing


class FactSpec(_Frozen):
    """One fact the probe prints. ``items`` describes list elements.

    ``l2`` says what of it the L2 planner (a third party) may see
    (osiris.heal.l2.disclosure): numbers and booleans as they are; text only when it is in
    ``values`` or a default threshold of the check, else a placeholder; ``count`` or
    ``omit`` to send less.
    """

    type: FactType
    description: str = ""
    nullable: bool = False
    items: FactType | dict[str, FactSpec] | None = None
    l2: L2Disclosure | L2Values | None = None

    @model_validator(mode="after")
    def _items_only_for_lists(self) -> FactSpec:
        if self.items is not None and self.type is not FactType.LIST:
            raise ValueError("'items' is only allowed on list facts")
        if self.l2 is L2Disclosure.COUNT and self.type is not FactType.LIST:
            raise ValueError("'l2: count' is only for list facts")
        if isinstance(self.l2, L2Values) and not (
            self.type is FactType.STRING
            or (self.type is FactType.LIST and self.items is FactType.STRING)
        ):
            raise ValueError("'l2: {values: ...}' is only for text facts and lists of text")
        return self


class ThresholdSpec(_Frozen):
    """A tunable limit with its documented default and where that default comes from."""

    default: Any
    source: str = Field(min_length=3)
    description: str = ""


class Applicability(_Frozen):
    """Where a check applies. Outside it the result is ``na`` with the reason."""

    roles: tuple[Role, ...] = ()
    requires: tuple[str, ...] = ()  # commands (sh) or cmdlets (PowerShell) the probe needs
    # when a required command is absent: na, or a finding when the absence is the risk
    when_missing: Literal["na", "warning", "fail"] = "na"


class ProbeSpec(_Frozen):
    script: str = Field(min_length=1)
    # whose view the probe reads (e.g. "root", "SYSTEM; HKLM policy, not the session user")
    context: str = Field(min_length=2)
    timeout: int = Field(default=60, ge=1, le=3600)


class RuleSpec(_Frozen):
    id: str = Field(pattern=RULE_ID_PATTERN, max_length=48)
    status: Status
    when: dict[str, Any] | None = None
    reason: str = Field(min_length=1)


class References(_Frozen):
    """Framework citations. Ids only for CIS, PCI DSS and SOC 2."""

    hipaa: tuple[str, ...] = Field(min_length=1)
    nist_800_53: tuple[str, ...] = ()
    nist_csf: tuple[str, ...] = ()
    cis_v8: tuple[str, ...] = ()
    pci_dss: tuple[str, ...] = ()
    soc2: tuple[str, ...] = ()

    def by_framework(self) -> dict[str, tuple[str, ...]]:
        return {name: getattr(self, name) for name in type(self).model_fields}


class CheckSpec(_Frozen):
    """A check file as written."""

    id: str = Field(pattern=CHECK_ID_PATTERN)
    title: str = Field(min_length=5)
    description: str = Field(min_length=10)
    platform: Platform
    severity: Severity
    tags: tuple[str, ...] = ()
    applies: Applicability = Applicability()
    probe: ProbeSpec
    facts: dict[str, FactSpec] = Field(min_length=1)
    thresholds: dict[str, ThresholdSpec] = {}
    evaluate: tuple[RuleSpec, ...] = Field(min_length=1)
    references: References
    guidance: str = ""  # how a person fixes it by hand (shown in reports and L3 notices)
    # the default remediation runbook's id; validated against the runbook registry
    remediation: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")

    @model_validator(mode="after")
    def _consistent(self) -> CheckSpec:
        prefix = "lnx_" if self.platform is Platform.LINUX else "win_"
        if not self.id.startswith(prefix):
            raise ValueError(f"a {self.platform} check id starts with '{prefix}'")
        if self.evaluate[-1].when is not None:
            raise ValueError("the last evaluate rule needs no 'when' (it is the default)")
        return self


@dataclass(frozen=True)
class CompiledRule:
    id: str  # stable across edits: patterns and promoted rules name it
    status: Status
    condition: Condition | None
    reason: str


@dataclass(frozen=True)
class Check:
    """A loaded, validated, immutable check."""

    spec: CheckSpec
    rules: tuple[CompiledRule, ...]
    source: str  # the file it came from

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def platform(self) -> Platform:
        return self.spec.platform

    @property
    def probe_digest(self) -> str:
        """SHA-256 of the probe script: which version of the probe produced a result."""
        return hashlib.sha256(self.spec.probe.script.encode()).hexdigest()

    def default_thresholds(self) -> dict[str, Any]:
        return {name: t.default for name, t in self.spec.thresholds.items()}

    def rule(self, rule_id: str) -> CompiledRule | None:
        """The evaluate rule with this id (None: the check has no such rule)."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def applies_to(self, role: Role) -> bool:
        return not self.spec.applies.roles or role in self.spec.applies.roles


def compile_check(spec: CheckSpec, source: str) -> Check:
    """Compile the evaluate rules; ValueError names the rule that is wrong."""
    known, item_known = _fact_checkers(spec.facts)
    rules: list[CompiledRule] = []
    for index, rule in enumerate(spec.evaluate):
        if any(r.id == rule.id for r in rules):
            raise RuleError(index, f"another evaluate rule has the id '{rule.id}'", field="id")
        condition = None
        if rule.when is not None:
            try:
                condition = compile_condition(
                    rule.when, known=known, item_known=item_known, thresholds=spec.thresholds
                )
            except ValueError as exc:
                raise RuleError(index, str(exc)) from exc
        problem = _placeholder_error(rule.reason, spec)
        if problem:
            raise RuleError(index, problem, field="reason")
        rules.append(CompiledRule(rule.id, rule.status, condition, rule.reason))
    return Check(spec=spec, rules=tuple(rules), source=source)


class RuleError(OsirisError, ValueError):
    def __init__(self, index: int, message: str, field: str = "when") -> None:
        super().__init__(message)
        self.index = index
        self.field = field


def _placeholder_error(template: str, spec: CheckSpec) -> str | None:
    """A reason may name declared facts and ``threshold.NAME`` only."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError as exc:
        return f"bad reason template: {exc}"
    for name in fields:
        root, _, rest = name.partition(".")
        if root == "threshold":
            if rest not in spec.thresholds:
                return f"reason names unknown threshold '{rest}'"
        elif root not in spec.facts:
            return f"reason names unknown fact '{root}'"
    return None


def _fact_checkers(facts: Mapping[str, FactSpec]) -> tuple[Any, Any]:
    def known(path: tuple[str, ...]) -> bool:
        spec = facts.get(path[0])
        if spec is None:
            return False
        # nested paths into objects are not described; allow them under an object fact
        return len(path) == 1 or spec.type is FactType.OBJECT

    def item_known(path: tuple[str, ...]) -> Any:
        spec = facts.get(path[0]) if len(path) == 1 else None
        if spec is None or spec.type is not FactType.LIST or spec.items is None:
            return None
        if isinstance(spec.items, FactType):
            return lambda p: p == ("value",)
        fields = spec.items
        return lambda p: p[0] in fields

    return known, item_known
