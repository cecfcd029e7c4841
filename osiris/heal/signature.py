"""The one pattern signature (docs/architecture.md, contract 4): check id + normalised
failing facts + runbook id + platform. The L2 decision cache, the flywheel, central and
the reports all use this module; nothing else may build a signature.

"Normalised failing facts" are *which* finding fired and *what it reads*, not the values:
the id of the check's first evaluate rule that holds (its ``id:`` in the check file,
stable when rules are reordered or added), its status, and the sorted names of the facts
that rule reads. Values are left out on purpose: they are host data (user names, paths,
counts, days idle) that would split one drift into a pattern per host, and host data
must never steer what is learned. Two hosts whose sshd allows root passwords
share a pattern; a host whose IP forwarding is on has another one than a host that
accepts source routing, because a different rule of ``lnx_kernel_network`` fires.

A drift (no runbook yet, the question L2 answers) and a pattern (drift + the runbook
chosen for it) are both signed here; ``Drift.with_runbook`` is the only way from one to
the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

from osiris.catalog.evaluate import shape_error
from osiris.catalog.model import Check
from osiris.conditions import FactTypeError, MissingFact
from osiris.model import Platform, Status

# bump when the definition changes: old and new signatures must never be compared.
# 1: the finding was the index of the rule in the check's list (moved when rules moved);
# 2: the finding is the rule's id.
SIGNATURE_VERSION = 2


@dataclass(frozen=True)
class Drift:
    """What is wrong, normalised across hosts."""

    check_id: str
    platform: Platform
    status: Status
    finding: str | None  # id of the check's evaluate rule that fired; None when none could
    facts: tuple[str, ...]  # sorted names of the facts that rule reads

    @property
    def signature(self) -> str:
        return _digest(self._fields(None))

    def with_runbook(self, runbook_id: str) -> Pattern:
        return Pattern(self, runbook_id)

    def _fields(self, runbook_id: str | None) -> dict[str, Any]:
        return {
            "v": SIGNATURE_VERSION,
            "check_id": self.check_id,
            "platform": self.platform.value,
            "status": self.status.value,
            "finding": self.finding,
            "facts": list(self.facts),
            "runbook_id": runbook_id,
        }


@dataclass(frozen=True)
class Pattern:
    """A drift and the runbook chosen for it: what the flywheel counts."""

    drift: Drift
    runbook_id: str

    @property
    def signature(self) -> str:
        return _digest(self.drift._fields(self.runbook_id))

    def describe(self) -> dict[str, Any]:
        """The fields behind the signature, for people and for central."""
        return {"signature": self.signature, **self.drift._fields(self.runbook_id)}


def drift_of(
    check: Check,
    status: Status,
    facts: Mapping[str, Any] | None,
    thresholds: Mapping[str, Any],
) -> Drift:
    """The normalised drift of one result: the first evaluate rule of ``check`` that
    holds for ``facts`` (the rule that gave the result its status)."""
    finding: str | None = None
    used = set[str]()
    # an `error` result has no finding: the facts were missing or malformed
    if (
        status is not Status.ERROR
        and facts is not None
        and not shape_error(facts, check.spec.facts)
    ):
        for rule in check.rules:
            try:
                fired = rule.condition is None or rule.condition.holds(facts, thresholds)
            except (MissingFact, FactTypeError):
                break  # the result was `error`; no finding fired
            if fired:
                finding = rule.id
                used = rule.condition.facts_used() if rule.condition is not None else set()
                break
    return Drift(check.id, check.spec.platform, status, finding, tuple(sorted(used)))


def _digest(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(dict(fields))).hexdigest()[:32]
