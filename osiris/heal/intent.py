"""What planning decides for one incident: an intent. The same value travels from the
pure plan (osiris.heal.plan) to what records and performs it (osiris.heal.apply,
osiris.heal.action), to a dry run's preview (osiris.heal.preview) and the JSON document.

Kinds: heal with runbook R now; R needs a person's approval; R is held by a rail (the
``rail`` says which); ask the L2 planner (no rule and no cached answer: a real heal
asks, then plans the answer through the same rails; a dry run only says so); leave it
(excepted); a person must look (escalate); a flap waits for an operator (suppressed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from osiris.heal.l2.log import LoggedCall
from osiris.heal.rules import Rule
from osiris.heal.runbooks import Runbook
from osiris.heal.store import Incident
from osiris.model import EscalationCategory, Tier


class IntentKind(StrEnum):
    HEAL = "heal"
    APPROVAL = "awaiting_approval"
    DEFERRED = "deferred"
    ASK_L2 = "ask_l2"
    EXCEPTED = "excepted"
    ESCALATE = "escalate"
    SUPPRESSED = "suppressed"


class Rail(StrEnum):
    """What holds a chosen runbook back (or, for retries, hands it to a person)."""

    APPROVAL = "approval"  # a disruptive runbook without a person's yes
    RETRIES = "retries"  # attempts used up: a person looks
    COOLDOWN = "cooldown"
    MAINTENANCE_WINDOW = "maintenance_window"
    CIRCUIT_BREAKER = "circuit_breaker"
    RUN_CAP = "run_cap"


@dataclass(frozen=True)
class Intent:
    incident: Incident
    kind: IntentKind
    reason: str
    rule: Rule | None = None
    runbook: Runbook | None = None
    rail: Rail | None = None
    # APPROVAL: the pending request (None: none yet; a real heal requests it). HEAL: the
    # approval it uses up.
    approval_id: int | None = None
    suppress: bool = False  # a flap: suppress until an operator clears it
    # why a person must look (ESCALATE): None lets L3 infer it from the intent
    # (osiris.heal.escalation.steps); set where that would be wrong (L2 declined)
    category: EscalationCategory | None = None
    tier: Tier = Tier.L1  # who chose: an L1 rule, or the L2 planner
    l2_call: int | None = None  # the l2_calls row of the answer acted on
    # the cached answer the plan used: a real heal logs its reuse (then ``l2_call`` is set)
    l2_cached: LoggedCall | None = None


@dataclass
class Plan:
    intents: list[Intent] = field(default_factory=list)

    def of(self, kind: IntentKind) -> list[Intent]:
        return [i for i in self.intents if i.kind is kind]
