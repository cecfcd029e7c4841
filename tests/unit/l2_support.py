"""What the L2 unit tests share: a site database with an incident opened the way a scan
opens one, and a planner whose real anthropic SDK points at the local API stand-in."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from osiris.catalog import Check, load_catalog
from osiris.catalog.evaluate import evaluate
from osiris.config import L2Config
from osiris.heal.l2.planner import L2Planner
from osiris.heal.runbooks import load_runbooks
from osiris.heal.store import Incident, live_incidents, sync_incidents
from osiris.model import CheckResult, Connection, Host, HostOutcome, Platform, Role, Secret
from osiris.store import open_database
from osiris.store.runs import start_run
from tests.stubs.anthropic_api import TEST_KEY, AnthropicStub

CATALOG = load_catalog()
RUNBOOKS = load_runbooks(CATALOG)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
USB_OPEN = {"install_rule": None, "blacklisted": False, "loaded": False, "kernel_has_module": True}

_names = itertools.count(1)


def new_db(tmp_path: Path) -> sqlite_utils.Database:
    return open_database(tmp_path / f"osiris-{next(_names)}.db", create=True)


def lab_host(name: str, platform: Platform = Platform.LINUX) -> Host:
    connection = Connection.SSH if platform is Platform.LINUX else Connection.WINRM
    return Host(name, "10.0.0.1", connection, platform, Role.SERVER)


def open_incident(
    db: sqlite_utils.Database, check: Check, facts: Mapping[str, Any], host: str = "h1"
) -> Incident:
    """The live incident a scan of ``host`` reporting ``facts`` opens (or bumps)."""
    status, reason = evaluate(check, facts, check.default_thresholds())
    run_id = start_run(db, engine="direct", inventory=[], host_count=1, check_count=1)
    result = CheckResult(host, check.id, status, reason, dict(facts))
    outcome = HostOutcome(lab_host(host, check.platform), (result,))
    db.execute(
        "INSERT OR IGNORE INTO hosts (name, address, connection, platform, role, first_seen,"
        " last_seen) VALUES (?, '10.0.0.1', 'ssh', ?, 'server', '', '')",
        [host, check.platform.value],
    )
    sync_incidents(db, run_id, [outcome], NOW)
    return next(i for i in live_incidents(db) if i.host == host and i.check_id == check.id)


def planner(stub: AnthropicStub, **config: Any) -> L2Planner:
    settings = L2Config(base_url=stub.base_url, **{"max_retries": 0, **config})
    return L2Planner(
        settings, Secret(TEST_KEY), CATALOG, RUNBOOKS, lambda check: check.default_thresholds()
    )


def calls(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM l2_calls ORDER BY id"))
