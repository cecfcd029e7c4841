"""What a runbook runs with: the site's thresholds it follows and the site's settings.

A runbook that ``follows`` a check threshold gets the site's value of it (config.yaml
``thresholds``), so a fix meets the bar the re-run check will hold it to. A runbook's
``settings`` are the site's to give in config.yaml::

    heal:
      runbook_vars:
        linux_time_sync:
          osiris_time_servers: [ntp1.clinic.lan, ntp2.clinic.lan]

Everything else a playbook uses keeps the playbook's own value. The variables an action
ran with are signed into its evidence (osiris.evidence.action).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from osiris.catalog import Catalog
from osiris.catalog.thresholds import same_kind
from osiris.errors import InputError
from osiris.heal.runbooks import Runbook, RunbookRegistry
from osiris.scan.interpret import ThresholdsFor

RunbookVars = Mapping[str, Mapping[str, Any]]
"""runbook id -> variable -> value."""


def validate_site_vars(registry: RunbookRegistry, site_vars: RunbookVars, config: Path) -> None:
    """Every ``heal.runbook_vars`` entry names a runbook and one of its settings, with a
    value like the playbook's default; else an InputError naming the field."""
    for runbook_id, values in site_vars.items():
        field = f"heal.runbook_vars.{runbook_id}"
        runbook = registry.runbooks.get(runbook_id)
        if runbook is None:
            raise InputError(f"unknown runbook id '{runbook_id}'", file=config, field=field)
        for name, value in values.items():
            problem = _setting_problem(runbook, name, value)
            if problem:
                raise InputError(problem, file=config, field=f"{field}.{name}")


def _setting_problem(runbook: Runbook, name: str, value: Any) -> str | None:
    if name in runbook.spec.follows:
        return f"it follows the threshold {runbook.spec.follows[name]}: set that instead"
    if name not in runbook.spec.settings:
        known = ", ".join(runbook.spec.settings) or "none"
        return f"'{runbook.id}' has no setting '{name}' (it has: {known})"
    default = runbook.variables[name]
    if not same_kind(default, value):
        return f"must be like the default {default!r}, got {value!r}"
    return None


def resolve(
    registry: RunbookRegistry,
    catalog: Catalog,
    thresholds_for: ThresholdsFor,
    site_vars: RunbookVars,
) -> dict[str, dict[str, Any]]:
    """The variables each runbook runs with (``catalog``: the whole catalog, not a
    selection). A runbook without any gets none: its playbook's values stand."""
    resolved: dict[str, dict[str, Any]] = {}
    for runbook in registry:
        values: dict[str, Any] = {}
        for name, target in runbook.spec.follows.items():
            check_id, _, threshold = target.partition(".")
            values[name] = thresholds_for(catalog.get(check_id))[threshold]
        values.update(site_vars.get(runbook.id, {}))
        if values:
            resolved[runbook.id] = values
    return resolved
