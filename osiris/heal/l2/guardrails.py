"""Whether an answer may be used. Checked here, on our side, whatever the model was told.

An answer is used only when it names one of the runbooks it was offered (those that fix
this check on this platform) and is at least ``min_confidence`` sure. Anything else
(``escalate``, a runbook it was not offered, a name it made up, too little confidence)
goes to a person. A disruptive runbook it chose still waits for approval: that, and the
other rails (retries, cooldown, maintenance windows, breaker, per-run cap), are applied
by the plan exactly as for an L1 choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from osiris.heal.l2.answer import ESCALATE, Answer
from osiris.heal.runbooks import Runbook, RunbookRegistry
from osiris.model import L2Verdict, Platform

_SHOWN = 300  # characters of the model's reasoning carried into the incident's reason


@dataclass(frozen=True)
class Judgement:
    verdict: L2Verdict
    runbook_id: str | None  # set only when the verdict is CHOSEN
    reason: str  # for the incident and the person reading it


def judge(answer: Answer, offered: Sequence[str], min_confidence: float) -> Judgement:
    why = _shorten(answer.reasoning)
    if answer.runbook == ESCALATE:
        return Judgement(L2Verdict.ESCALATE, None, f"L2 escalates: {why}")
    if answer.runbook not in offered:
        return Judgement(
            L2Verdict.OUT_OF_ENUM,
            None,
            f"L2 answered {answer.runbook[:80]!r}, which is not one of the runbooks offered"
            f" for this check ({', '.join(offered)}): a person looks",
        )
    if answer.confidence < min_confidence:
        return Judgement(
            L2Verdict.LOW_CONFIDENCE,
            None,
            f"L2 chose {answer.runbook} with confidence {answer.confidence:.2f}, below"
            f" {min_confidence:.2f}: a person looks ({why})",
        )
    return Judgement(
        L2Verdict.CHOSEN,
        answer.runbook,
        f"L2 chose {answer.runbook} (confidence {answer.confidence:.2f}): {why}",
    )


def _shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SHOWN else flat[: _SHOWN - 1] + "…"


def offered(runbooks: RunbookRegistry, check_id: str, platform: Platform) -> list[Runbook]:
    """What L2 may choose from: the runbooks that fix this check on this platform."""
    return [r for r in runbooks.for_check(check_id) if r.spec.platform is platform]
