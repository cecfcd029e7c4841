"""A dry run's preview: every planned fix in check mode, with the rail that would hold it.

Nothing is journalled, requested, asked or recorded: the runbooks run in check mode
(Ansible's ``--check --diff``; a Windows runbook's own check mode), which changes
nothing on the host. A fix held by a rail (approval, cooldown, maintenance window,
circuit breaker, the run's cap) is previewed too, so a person sees all that a real heal
would do, and in which heal.
"""

from __future__ import annotations

from osiris.heal.action import ActionReport
from osiris.heal.executor import run_runbook
from osiris.heal.inputs import HealInputs
from osiris.heal.intent import Intent, IntentKind, Plan

# the kinds whose runbook a real heal runs, now or once its rail lets it
PREVIEWED = (IntentKind.HEAL, IntentKind.APPROVAL, IntentKind.DEFERRED)


def preview(plan: Plan, inputs: HealInputs) -> list[ActionReport]:
    return [_preview(i, inputs) for i in plan.intents if i.kind in PREVIEWED and i.runbook]


def _preview(intent: Intent, inputs: HealInputs) -> ActionReport:
    runbook, incident = intent.runbook, intent.incident
    assert runbook is not None
    host = inputs.host(incident.host)
    outcome = run_runbook(
        runbook,
        host,
        inputs.settings.transport,
        check_mode=True,
        variables=inputs.variables_of(runbook),
    )
    return ActionReport(
        incident.id if incident.id > 0 else None,
        host.name,
        incident.check_id,
        runbook.id,
        "dry_run",
        outcome.detail,
        diff=outcome.diff,
        held_by=None if intent.rail is None else intent.rail.value,
    )
