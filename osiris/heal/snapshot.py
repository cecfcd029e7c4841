"""Everything planning reads, loaded up front by one function, so planning is pure.

:func:`load_snapshot` reads the site database once per plan: the exceptions in force,
the live approval requests, the counters the rails need (last action per host and check,
actions per host within the breaker window, recurrences within the flap window), the
L2 answers still cached and whether the L2 budget allows a call. With the heal's rules,
runbooks and configuration beside them, :func:`osiris.heal.plan.plan` decides from the
snapshot alone: no database, no network. A dry run therefore plans exactly as a real
heal does, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from osiris.config import HealConfig, L2Config
from osiris.heal import approvals
from osiris.heal.approvals import Approval
from osiris.heal.exceptions import RiskException, list_exceptions
from osiris.heal.l2.budget import over_budget
from osiris.heal.l2.cache import cached_answers
from osiris.heal.l2.log import LoggedCall
from osiris.heal.l2.planner import L2Choice
from osiris.heal.rules import Rule, parse_duration
from osiris.heal.runbooks import RunbookRegistry
from osiris.heal.signature import Drift
from osiris.heal.store import (
    Incident,
    actions_per_host_since,
    last_actions,
    recurrences_since,
    resolved_keys,
)
from osiris.model import Host

Key = tuple[str, str]  # osiris.heal.store.incident_key


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    incidents: tuple[Incident, ...]  # live, in id order; a would-be one has an id below 0
    hosts: Mapping[str, Host]  # this run's inventory (and --limit)
    rules: Sequence[Rule]  # highest priority first
    runbooks: RunbookRegistry
    config: HealConfig
    l2: L2Config | None = None  # None: L2 is off, drift without a rule goes to a person
    exceptions: Sequence[RiskException] = ()
    approvals: Mapping[tuple[int, str], Approval] = field(default_factory=dict)
    last_actions: Mapping[Key, datetime] = field(default_factory=dict)
    recent_actions: Mapping[str, int] = field(default_factory=dict)  # within breaker_window
    recurrences: Mapping[Key, int] = field(default_factory=dict)  # within flap_window
    drifts: Mapping[int, Drift] = field(default_factory=dict)  # absent: check not in this run
    l2_cached: Mapping[str, LoggedCall] = field(default_factory=dict)  # by drift signature
    l2_refusal: str | None = None  # why the L2 budget allows no call now
    # answers a real heal got from L2 in this run (osiris.heal.apply), by incident id
    l2_choices: Mapping[int, L2Choice] = field(default_factory=dict)


def load_snapshot(
    db: sqlite_utils.Database,
    incidents: Sequence[Incident],
    *,
    hosts: Mapping[str, Host],
    rules: Sequence[Rule],
    runbooks: RunbookRegistry,
    config: HealConfig,
    l2: L2Config | None,
    now: datetime,
    drift_of: Callable[[Incident], Drift | None],
) -> Snapshot:
    """Read what planning ``incidents`` needs. Reads only: nothing is written."""
    flaps = dict(recurrences_since(db, now - parse_duration(config.flap_window)))
    recurring = resolved_keys(db)
    for incident in incidents:
        # a would-be incident (a dry run) is not in the database: counted as the real
        # heal, which opens it before planning, would count it
        if incident.id < 0 and incident.key in recurring:
            flaps[incident.key] = flaps.get(incident.key, 0) + 1
    drifts = {i.id: d for i in incidents if (d := drift_of(i)) is not None}
    return Snapshot(
        now=now,
        incidents=tuple(incidents),
        hosts=hosts,
        rules=rules,
        runbooks=runbooks,
        config=config,
        l2=l2,
        exceptions=list_exceptions(db, now=now),
        approvals=approvals.live_requests(db),
        last_actions=last_actions(db),
        recent_actions=actions_per_host_since(db, now - parse_duration(config.breaker_window)),
        recurrences=flaps,
        drifts=drifts,
        l2_cached={} if l2 is None else cached_answers(db, now, l2.cache_hours),
        l2_refusal=None if l2 is None else over_budget(db, l2, now),
    )
