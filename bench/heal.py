"""How long an L1 decision takes, per incident (goal: <= 1 ms).

    .venv/bin/python -m bench.heal [--incidents 5000] [--quick]

Builds a site database with N live incidents over every check that has a rule and a
history of actions, then times the planner over all of them (rules matched against
facts, exceptions, flap and cooldown queries, the circuit breaker) against a baseline
that only reads the incidents.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from osiris.catalog import default_catalog_dir, load_catalog
from osiris.config import HealConfig
from osiris.heal.plan import plan
from osiris.heal.rules import load_rules, rule_files
from osiris.heal.runbooks import load_runbooks
from osiris.heal.snapshot import load_snapshot
from osiris.heal.store import live_incidents
from osiris.model import Connection, Host, Platform, Role
from osiris.store import open_database


def build(path: Path, incidents: int, checks: list[str]) -> list[Host]:
    """A site database with ``incidents`` live incidents, each on its own (host, check)
    pair (a host has one live incident per check), and an action history for half."""
    db = open_database(path, create=True)
    rng = random.Random(7)
    hosts = [
        Host(f"h{i}", f"10.0.{i // 250}.{i % 250}", Connection.SSH, Platform.LINUX, Role.SERVER)
        for i in range(-(-incidents // len(checks)))
    ]
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="milliseconds")
    old = (now - timedelta(days=2)).isoformat(timespec="milliseconds")
    facts = json.dumps({"running": True})
    pairs = [(hosts[n // len(checks)].name, checks[n % len(checks)]) for n in range(incidents)]
    with db.conn:
        ids = [
            db.conn.execute(
                "INSERT INTO incidents (host, check_id, state, status, reason, facts,"
                " opened_at, updated_at) VALUES (?, ?, 'open', 'fail', 'drift', ?, ?, ?)",
                (host, check, facts, stamp, stamp),
            ).lastrowid
            for host, check in pairs
        ]
        db.conn.executemany(
            "INSERT INTO heal_actions (incident_id, host, check_id, runbook_id, tier, state,"
            " pre_status, started_at) VALUES (?, ?, ?, 'linux_sshd_harden', 'l1', 'succeeded',"
            " 'fail', ?)",
            [
                (incident, host, check, old)
                for incident, (host, check) in zip(ids, pairs, strict=True)
                if rng.random() < 0.5
            ],
        )
    return hosts


QUICK_INCIDENTS = 60  # --quick: enough for every decision kind, done in a second


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.heal", description=__doc__)
    parser.add_argument("--incidents", type=int, default=5000)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_INCIDENTS} incidents (the test suite's run)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.incidents = QUICK_INCIDENTS
    catalog = load_catalog()
    runbooks = load_runbooks(catalog)
    rules = load_rules(rule_files(default_catalog_dir(), None), catalog, runbooks)
    checks = sorted({c for rule in rules for c in rule.checks})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "osiris.db"
        hosts = build(path, args.incidents, checks)
        db = open_database(path)
        started = time.perf_counter()
        incidents = live_incidents(db)
        read = time.perf_counter() - started
        started = time.perf_counter()
        snapshot = load_snapshot(
            db,
            incidents,
            hosts={h.name: h for h in hosts},
            rules=rules,
            runbooks=runbooks,
            config=HealConfig(max_actions_per_run=10**9, breaker_actions=10**9),
            l2=None,
            now=datetime.now(UTC),
            drift_of=lambda _incident: None,
        )
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        planned = plan(snapshot)
        decided = time.perf_counter() - started
    per = decided / len(incidents) * 1000
    print(f"{len(incidents)} incidents over {len(checks)} checks with rules, {len(hosts)} hosts")
    print(
        f"reading them: {read * 1000:.1f} ms; the snapshot: {loaded * 1000:.1f} ms;"
        f" deciding: {decided * 1000:.1f} ms"
    )
    print(
        f"per incident: {per:.3f} ms (goal <= 1 ms)  decisions: "
        f"{dict(sorted((k.value, len(planned.of(k))) for k in {i.kind for i in planned.intents}))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
