"""L2: an LLM chooses a runbook for drift that no L1 rule matches, under guardrails.

- ``prompt``: the request (a forced tool call, the runbook a closed enum; host data
  scrubbed and delimited as data);
- ``answer``: reading the reply (the tool call, or JSON followed by prose);
- ``guardrails``: what may be used (offered runbook, confident enough), else L3;
- ``budget``: calls per hour and dollars per day, from reported usage and the price table;
- ``cache``: one answer per drift signature for ``cache_hours``;
- ``history``: how the pattern went before, for the prompt;
- ``log``: the ``l2_calls`` table (``osiris l2 log``);
- ``planner``: the SDK call and the order of the above.

A chosen runbook then goes through the plan's rails like an L1 choice (osiris.heal.plan).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from osiris.catalog import Catalog
from osiris.config import L2Config
from osiris.heal.runbooks import RunbookRegistry
from osiris.inventory.secrets import service_secret
from osiris.scan.interpret import ThresholdsFor

if TYPE_CHECKING:
    from osiris.heal.l2.planner import L2Planner

API_KEY_NAME = "anthropic_api_key"  # services.<this> in secrets.yaml
API_KEY_ENV = "ANTHROPIC_API_KEY"  # wins over the file


def planner_for(
    config: L2Config,
    secrets_path: Path,
    catalog: Catalog,
    runbooks: RunbookRegistry,
    thresholds_for: ThresholdsFor,
) -> L2Planner | None:
    """The site's L2 planner, or None when no API key is configured (L2 is off: drift
    without an L1 rule goes to a person, as it always did)."""
    key = service_secret(secrets_path, API_KEY_NAME, API_KEY_ENV)
    if key is None:
        return None
    from osiris.heal.l2.planner import L2Planner

    return L2Planner(config, key, catalog, runbooks, thresholds_for)
