"""What one `osiris heal` works with: hosts, catalog, runbooks, rules, settings, keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osiris.catalog import Catalog
from osiris.config import EscalationConfig, FlywheelConfig, HealConfig
from osiris.evidence.keys import SiteSigner
from osiris.heal.l2.planner import L2Planner
from osiris.heal.rules import Rule
from osiris.heal.runbooks import Runbook, RunbookRegistry
from osiris.heal.signature import Drift, drift_of
from osiris.heal.store import Incident
from osiris.heal.variables import RunbookVars
from osiris.model import Host
from osiris.scan.interpret import ThresholdsFor
from osiris.scan.runner import ScanSettings


@dataclass(frozen=True)
class HealInputs:
    hosts: Sequence[Host]
    catalog: Catalog
    runbooks: RunbookRegistry
    rules: Sequence[Rule]
    thresholds_for: ThresholdsFor
    settings: ScanSettings
    config: HealConfig
    signer: SiteSigner
    flywheel: FlywheelConfig = field(default_factory=FlywheelConfig)
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    l2: L2Planner | None = None  # None: L2 is off (no API key)
    secrets_path: Path | None = None  # service secrets of L3 notices (SMTP, webhooks)
    runbook_vars: RunbookVars = field(default_factory=dict)  # osiris.heal.variables.resolve

    def variables_of(self, runbook: Runbook) -> Mapping[str, Any]:
        """What ``runbook`` runs with beyond its playbook's own values."""
        return self.runbook_vars.get(runbook.id, {})

    def host(self, name: str) -> Host:
        return next(h for h in self.hosts if h.name == name)

    def drift(self, incident: Incident) -> Drift | None:
        """The incident's drift as it was planned (status and facts before any fix);
        None for a check outside this run's catalog."""
        check = self.catalog.checks.get(incident.check_id)
        if check is None:
            return None
        return drift_of(check, incident.status, incident.facts, self.thresholds_for(check))
