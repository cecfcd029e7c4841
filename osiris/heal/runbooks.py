"""Runbooks: the remediation playbooks in ``playbooks/linux`` and ``playbooks/windows``.

A runbook is an Ansible playbook whose first play carries its metadata in
``vars.osiris_runbook``::

    - name: Enforce password quality
      hosts: all
      vars:
        osiris_runbook:
          id: linux_password_policy
          description: pam_pwquality in common-password with minlen=14
          fixes: [lnx_password_policy]
          platform: linux
          disruptive: false
          timeout: 120
          touches: [authentication, packages]
          hipaa: ["164.308(a)(5)(ii)(D)"]
          follows: {osiris_min_length: lnx_password_policy.min_length}
          not_following:
            lnx_password_policy.min_length_warning: "min_length is at or above the warning line"
        osiris_min_length: 14
      tasks: ...

Two kinds of play variables reach a runbook from the site (osiris.heal.variables). One
it ``follows`` takes the site's value of a check threshold, so a site that tightens a
threshold gets a fix that meets it. A threshold of a fixed check that the runbook does
not follow is named in ``not_following`` with the reason (``osiris checks lint`` refuses
silence: a fix that ignores a threshold may never meet its own check). One listed in
``settings`` is the site's to set in
config.yaml (``heal.runbook_vars``), such as its time servers. The play's other
variables are the runbook's own. A Linux playbook gets them as extra vars; a Windows
runbook's PowerShell as ``$osiris_...`` variables (osiris.heal.powershell).

Linux runbooks run through ansible-runner. A Windows runbook is ``<id>.ps1`` beside its
playbook; osiris sends it over WinRM after the shared ``lib/osiris.ps1`` (see
osiris.heal.powershell), and the playbook runs the same assembled script for Ansible
users (``lib/run_runbook.yml``, check mode included). Every id a runbook names (checks
it fixes, HIPAA citations, its rollback) is validated at load (docs/architecture.md, contract 2).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from osiris.catalog import Catalog
from osiris.errors import InputError
from osiris.frameworks import load_registry
from osiris.model import Platform
from osiris.shipped import shipped_dir
from osiris.yamlfile import input_error_from, load_yaml

RUNBOOK_ID_PATTERN = r"^(linux|windows)_[a-z0-9]+(_[a-z0-9]+)*$"
# the PowerShell every Windows runbook is sent after, relative to the runbook's folder
WINDOWS_LIB = Path("lib") / "osiris.ps1"


class Touch(StrEnum):
    """What a runbook changes. The first four can cut osiris off: the lockout guard
    reconnects after them and rolls back if it cannot."""

    SSH = "ssh"
    WINRM = "winrm"
    FIREWALL = "firewall"
    ACCOUNTS = "accounts"
    AUTHENTICATION = "authentication"  # PAM, password and lockout policy
    SERVICES = "services"
    KERNEL = "kernel"
    PACKAGES = "packages"
    FILES = "files"
    POLICY = "policy"  # Windows registry and security policy


LOCKOUT_RISKS = frozenset({Touch.SSH, Touch.WINRM, Touch.FIREWALL, Touch.ACCOUNTS})


class RunbookSpec(BaseModel):
    """``vars.osiris_runbook`` as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=RUNBOOK_ID_PATTERN)
    description: str = Field(min_length=10)
    fixes: tuple[str, ...] = Field(min_length=1)
    platform: Platform
    disruptive: bool = False
    needs_approval: bool | None = None  # default: the same as disruptive
    timeout: int = Field(default=300, ge=5, le=3600)
    touches: tuple[Touch, ...] = Field(min_length=1)
    hipaa: tuple[str, ...] = Field(min_length=1)
    rollback: str | None = Field(default=None, pattern=RUNBOOK_ID_PATTERN)
    # playbook variable -> "check_id.threshold" whose site value it takes
    follows: dict[str, str] = Field(default_factory=dict)
    # "check_id.threshold" -> why the runbook's fix meets the check without following it
    not_following: dict[str, str] = Field(default_factory=dict)
    settings: tuple[str, ...] = ()  # playbook variables a site may set (heal.runbook_vars)

    @model_validator(mode="after")
    def _platform_prefix(self) -> RunbookSpec:
        if not self.id.startswith(f"{self.platform.value}_"):
            raise ValueError(f"a {self.platform} runbook id starts with '{self.platform}_'")
        if set(self.follows) & set(self.settings):
            raise ValueError("a variable that follows a threshold is not a site setting")
        both = set(self.follows.values()) & set(self.not_following)
        if both:
            raise ValueError(f"{', '.join(sorted(both))}: both followed and not_following")
        return self

    def thresholds_followed(self) -> set[str]:
        """The ``check_id.threshold`` names this runbook follows."""
        return set(self.follows.values())


@dataclass(frozen=True)
class Runbook:
    spec: RunbookSpec
    playbook: Path
    script: Path | None  # Windows: the PowerShell osiris sends over WinRM
    # the play's osiris_* variables with their defaults (what follows and settings name)
    variables: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def needs_approval(self) -> bool:
        approval = self.spec.needs_approval
        return self.spec.disruptive if approval is None else approval

    @property
    def risks_lockout(self) -> bool:
        return bool(LOCKOUT_RISKS.intersection(self.spec.touches))

    def site_values(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Each variable the runbook follows or takes from the site: the ``given`` value
        (osiris.heal.variables), else the play's default."""
        names = (*self.spec.follows, *self.spec.settings)
        return {name: given.get(name, self.variables[name]) for name in names}


@dataclass(frozen=True)
class RunbookRegistry:
    runbooks: Mapping[str, Runbook]

    def __iter__(self) -> Iterator[Runbook]:
        return iter(self.runbooks.values())

    def get(self, runbook_id: str) -> Runbook:
        try:
            return self.runbooks[runbook_id]
        except KeyError:
            raise InputError(f"unknown runbook id '{runbook_id}'") from None

    def for_check(self, check_id: str) -> list[Runbook]:
        return [r for r in self.runbooks.values() if check_id in r.spec.fixes]


def load_runbook(path: Path, catalog: Catalog) -> Runbook:
    data, lines = load_yaml(path)
    loc: tuple[Any, ...] = (0, "vars", "osiris_runbook")
    try:
        raw = data[0]["vars"]["osiris_runbook"]
    except (TypeError, KeyError, IndexError):
        raise InputError("a runbook's first play needs vars.osiris_runbook", file=path) from None
    try:
        spec = RunbookSpec.model_validate(raw)
    except ValidationError as exc:
        shifted = {k[len(loc) :]: v for k, v in lines.items() if k[: len(loc)] == loc}
        raise input_error_from(exc, path, shifted) from exc
    if path.stem != spec.id:
        raise InputError(f"file name must match the id '{spec.id}'", file=path, field="id")
    for index, check_id in enumerate(spec.fixes):
        check = catalog.checks.get(check_id)
        where = {"file": path, "line": lines.get((*loc, "fixes", index)), "field": f"fixes.{index}"}
        if check is None:
            raise InputError(f"unknown check id '{check_id}'", **where)  # type: ignore[arg-type]
        if check.platform is not spec.platform:
            raise InputError(f"'{check_id}' is a {check.platform} check", **where)  # type: ignore[arg-type]
    load_registry().validate_references({"hipaa": spec.hipaa}, file=path, lines=lines, base=loc)
    variables = {
        name: value
        for name, value in data[0]["vars"].items()
        if name.startswith("osiris_") and name != "osiris_runbook"
    }
    for name, target in spec.follows.items():
        problem = _follow_problem(name, target, variables, spec, catalog)
        if problem:
            line = lines.get((*loc, "follows", name))
            raise InputError(problem, file=path, line=line, field=f"follows.{name}")
    for target, why in spec.not_following.items():
        problem = _threshold_problem(target, spec, catalog) or _reason_problem(why)
        if problem:
            line = lines.get((*loc, "not_following", target))
            raise InputError(problem, file=path, line=line, field=f"not_following.{target}")
    for index, name in enumerate(spec.settings):
        if name not in variables:
            raise InputError(
                f"the play sets no variable '{name}'",
                file=path,
                line=lines.get((*loc, "settings", index)),
                field=f"settings.{index}",
            )
    script = path.with_suffix(".ps1") if spec.platform is Platform.WINDOWS else None
    if script is not None and not script.is_file():
        raise InputError(f"the runbook's PowerShell {script.name} is missing", file=path)
    if script is not None and not (script.parent / WINDOWS_LIB).is_file():
        raise InputError(f"the shared PowerShell {WINDOWS_LIB} is missing", file=path)
    return Runbook(spec, path, script, variables)


def _follow_problem(
    name: str, target: str, variables: Mapping[str, Any], spec: RunbookSpec, catalog: Catalog
) -> str | None:
    """Why ``follows: {name: target}`` is wrong, or None."""
    if name not in variables:
        return f"the play sets no variable '{name}' (its osiris_* vars: {', '.join(variables)})"
    problem = _threshold_problem(target, spec, catalog)
    if problem:
        return problem
    check_id, _, threshold = target.partition(".")
    default = catalog.checks[check_id].spec.thresholds[threshold].default
    if variables[name] != default:
        # a site that sets nothing must get the same fix from osiris and from Ansible alone
        return f"the play's default {variables[name]!r} is not the threshold's {default!r}"
    return None


def _threshold_problem(target: str, spec: RunbookSpec, catalog: Catalog) -> str | None:
    """Why ``target`` ("check_id.threshold") is not a threshold of a check ``spec`` fixes."""
    check_id, _, threshold = target.partition(".")
    if check_id not in spec.fixes:
        return f"'{check_id}' is not a check this runbook fixes"
    declared = catalog.checks[check_id].spec.thresholds
    if threshold not in declared:
        known = ", ".join(declared) or "none"
        return f"'{check_id}' has no threshold '{threshold}' (it has: {known})"
    return None


def _reason_problem(why: str) -> str | None:
    if len(why.strip()) < 10:
        return "say why the runbook does not follow it (a sentence)"
    return None


def default_playbooks_dir() -> Path:
    """``$OSIRIS_PLAYBOOKS``, else ``playbooks/`` beside the package (as the catalog's)."""
    override = os.environ.get("OSIRIS_PLAYBOOKS")
    return Path(override) if override else shipped_dir("playbooks")


def load_runbooks(catalog: Catalog, directory: Path | None = None) -> RunbookRegistry:
    """Every runbook under ``directory`` (default: the shipped playbooks/)."""
    root = directory or shipped_dir("playbooks")
    runbooks: dict[str, Runbook] = {}
    for path in sorted([*root.glob("linux/*.yml"), *root.glob("windows/*.yml")]):
        runbook = load_runbook(path, catalog)
        if runbook.id in runbooks:
            raise InputError(f"duplicate runbook id '{runbook.id}'", file=path, field="id")
        runbooks[runbook.id] = runbook
    registry = RunbookRegistry(runbooks)
    _check_references(registry, catalog)
    return registry


def _check_references(registry: RunbookRegistry, catalog: Catalog) -> None:
    for runbook in registry:
        rollback = runbook.spec.rollback
        if rollback is not None and rollback not in registry.runbooks:
            raise InputError(
                f"unknown rollback runbook '{rollback}'", file=runbook.playbook, field="rollback"
            )
    for check in catalog:
        remediation = check.spec.remediation
        if remediation is None:
            continue
        if remediation not in registry.runbooks:
            raise InputError(
                f"unknown runbook id '{remediation}'", file=check.source, field="remediation"
            )
        if check.id not in registry.runbooks[remediation].spec.fixes:
            raise InputError(
                f"runbook '{remediation}' does not list this check in its fixes",
                file=check.source,
                field="remediation",
            )
