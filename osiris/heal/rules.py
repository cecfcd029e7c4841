"""L1 rules: declarative, validated, frozen. Drift that a rule matches gets its runbook.

Built-in rules live in ``checks/rules/*.yaml`` beside the catalog, a site's own in
``<home>/rules/*.yaml``::

    rules:
      - id: ssh_hardening
        description: Harden sshd when it allows root passwords or too many tries
        checks: [lnx_ssh_hardening]
        when: {fact: facts.running, eq: true}     # optional, over the incident's fields
        runbook: linux_sshd_harden
        priority: 100          # higher first
        cooldown: 1h           # per (host, check): no second try sooner
        max_retries: 3         # actions per incident before it goes to a person

A condition sees ``status``, ``occurrences``, ``attempts``, ``host``, ``role``,
``platform``, ``finding`` (the id of the check's evaluate rule that fired, as in the
pattern signature; null when none could) and ``facts.<name>`` (the check's declared facts).
Every id a rule names is checked at load; a rule that cannot match is an error, not a
silent no-op.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from osiris.catalog import Catalog
from osiris.conditions import Condition, compile_condition
from osiris.errors import InputError
from osiris.heal.runbooks import RunbookRegistry
from osiris.yamlfile import PathKey, input_error_from, line_of, load_yaml

INCIDENT_FIELDS = ("status", "occurrences", "attempts", "host", "role", "platform", "finding")
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """'90s', '10m', '1h', '7d'."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a duration like 90s, 10m, 1h or 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class _RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    description: str = Field(min_length=5)
    checks: tuple[str, ...] = Field(min_length=1)
    when: dict[str, Any] | None = None
    runbook: str
    priority: int = 100
    cooldown: str = "1h"
    max_retries: int = Field(default=3, ge=1, le=20)
    enabled: bool = True


class _RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[_RuleSpec]


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    checks: frozenset[str]
    condition: Condition | None
    runbook: str
    priority: int
    cooldown: timedelta
    max_retries: int
    source: str

    def matches(self, scope: Mapping[str, Any]) -> bool:
        return self.condition is None or self.condition.holds(scope, {})


def load_rules(
    paths: Iterable[Path], catalog: Catalog, runbooks: RunbookRegistry
) -> tuple[Rule, ...]:
    """Every enabled rule of the given files, highest priority first.

    Files are layers by directory, in the order given (built-in, then the site's): a rule
    in a later directory replaces the rule of the same id from an earlier one, and
    ``enabled: false`` there turns it off. The same id twice in one directory is an error.
    """
    rules: dict[str, Rule | None] = {}
    origin: dict[str, Path] = {}
    for path in paths:
        for rule_id, rule in _load_file(path, catalog, runbooks):
            if rule_id in origin and origin[rule_id].parent == path.parent:
                raise InputError(f"duplicate rule id '{rule_id}'", file=path, field="id")
            rules[rule_id], origin[rule_id] = rule, path
    enabled = [r for r in rules.values() if r is not None]
    return tuple(sorted(enabled, key=lambda r: (-r.priority, r.id)))


def rule_files(builtin_dir: Path, site_home: Path | None) -> list[Path]:
    files = sorted((builtin_dir / "rules").glob("*.yaml"))
    if site_home is not None:
        files += sorted((site_home / "rules").glob("*.yaml"))
    return files


def _load_file(
    path: Path, catalog: Catalog, runbooks: RunbookRegistry
) -> list[tuple[str, Rule | None]]:
    """(id, rule) per rule of the file; None for a rule that is turned off."""
    data, lines = load_yaml(path)
    try:
        parsed = _RuleFile.model_validate(data)
    except ValidationError as exc:
        raise input_error_from(exc, path, lines) from exc
    return [
        (spec.id, _compile(spec, index, path, lines, catalog, runbooks) if spec.enabled else None)
        for index, spec in enumerate(parsed.rules)
    ]


def _compile(
    spec: _RuleSpec,
    index: int,
    path: Path,
    lines: dict[PathKey, int],
    catalog: Catalog,
    runbooks: RunbookRegistry,
) -> Rule:
    def bad(message: str, *field: str | int) -> InputError:
        loc = ("rules", index, *field)
        return InputError(
            message, file=path, line=line_of(lines, loc), field=".".join(str(p) for p in loc)
        )

    for position, check_id in enumerate(spec.checks):
        if check_id not in catalog.checks:
            raise bad(f"unknown check id '{check_id}'", "checks", position)
    if spec.runbook not in runbooks.runbooks:
        raise bad(f"unknown runbook id '{spec.runbook}'", "runbook")
    fixes = set(runbooks.runbooks[spec.runbook].spec.fixes)
    missing = [c for c in spec.checks if c not in fixes]
    if missing:
        raise bad(f"runbook '{spec.runbook}' does not fix {missing}", "runbook")
    try:
        cooldown = parse_duration(spec.cooldown)
    except ValueError as exc:
        raise bad(str(exc), "cooldown") from None
    condition = None
    if spec.when is not None:
        for check_id in spec.checks:
            for value in _finding_values(spec.when):
                check = catalog.checks[check_id]
                if not isinstance(value, str) or check.rule(value) is None:
                    known = ", ".join(r.id for r in check.rules)
                    raise bad(
                        f"finding {value!r} is not an evaluate rule id of {check_id}"
                        f" (one of: {known})",
                        "when",
                    )
        facts = _shared_facts(spec.checks, catalog)
        try:
            condition = compile_condition(
                spec.when,
                known=lambda p: (
                    p[0] in INCIDENT_FIELDS or (p[0] == "facts" and (len(p) == 1 or p[1] in facts))
                ),
                item_known=lambda _p: None,
                thresholds={},
            )
        except ValueError as exc:
            raise bad(str(exc), "when") from None
    return Rule(
        id=spec.id,
        description=spec.description,
        checks=frozenset(spec.checks),
        condition=condition,
        runbook=spec.runbook,
        priority=spec.priority,
        cooldown=cooldown,
        max_retries=spec.max_retries,
        source=str(path),
    )


def _shared_facts(check_ids: Iterable[str], catalog: Catalog) -> set[str]:
    """Fact names every one of the rule's checks declares."""
    sets = [set(catalog.checks[c].spec.facts) for c in check_ids]
    return set.intersection(*sets) if sets else set()


def _finding_values(when: Any) -> list[Any]:
    """Every value a condition compares ``finding`` with: each must be an evaluate rule id
    of the rule's checks (a number is a position, as findings were before they had ids)."""
    values: list[Any] = []
    if isinstance(when, list):
        for item in when:
            values += _finding_values(item)
    elif isinstance(when, dict):
        if when.get("fact") == "finding":
            for op in ("eq", "ne"):
                if op in when:
                    values.append(when[op])
            for op in ("in", "not_in"):
                if isinstance(when.get(op), list):
                    values += when[op]
        for key, value in when.items():
            if key != "fact":
                values += _finding_values(value) if isinstance(value, dict | list) else []
    return values
