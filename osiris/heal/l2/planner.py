"""The L2 planner: for drift no L1 rule matches, ask an LLM which runbook fixes it.

One incident, in order: the runbooks offered (those of the registry that fix this check
on this host's platform; none -> a person, no call); the drift signature; a cached
answer for it (-> judged again, no call); the budget (over -> a person, no call); the
call, through the anthropic SDK (its own retries on 429/5xx and its timeout); the
answer read and judged by the guardrails; the row in ``l2_calls``. The result is a
runbook to run, through the plan's usual rails, or the reason a person must look.

Planning never calls this: it reads cached answers itself and plans "ask L2" for the
rest (osiris.heal.plan); a real heal's apply stage calls :meth:`L2Planner.choose` for
those and logs the reuse of cached ones (:meth:`L2Planner.record_reuse`).

The SDK is imported only when a call is made: it takes over a second to import, and
most heals never need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from osiris.catalog import Catalog
from osiris.config import L2Config
from osiris.heal.l2 import cache, guardrails, log
from osiris.heal.l2.answer import Answer, UnreadableAnswer, parse_reply
from osiris.heal.l2.budget import cost_of, over_budget
from osiris.heal.l2.guardrails import Judgement, judge
from osiris.heal.l2.history import pattern_history
from osiris.heal.l2.prompt import Request, build_request
from osiris.heal.rules import parse_duration
from osiris.heal.runbooks import Runbook, RunbookRegistry
from osiris.heal.signature import drift_of
from osiris.heal.store import Incident
from osiris.model import Host, L2Verdict, Secret
from osiris.scan.interpret import ThresholdsFor


@dataclass(frozen=True)
class L2Choice:
    runbook: Runbook | None  # None: a person looks, ``reason`` says why
    reason: str
    call_id: int | None  # its l2_calls row; None when nothing was asked or reused
    nothing_offered: bool = False  # no runbook fixes this check: nothing to ask about


@dataclass(frozen=True)
class _Base:
    """The fields of a log row that do not depend on the answer."""

    at: datetime
    incident_id: int
    host: str
    check_id: str
    signature: str


class L2Planner:
    """Chooses runbooks for one heal. Holds the SDK client once it is first needed."""

    def __init__(
        self,
        config: L2Config,
        api_key: Secret,
        catalog: Catalog,
        runbooks: RunbookRegistry,
        thresholds_for: ThresholdsFor,
    ) -> None:
        self.config = config
        self._key = api_key
        self._catalog = catalog
        self._runbooks = runbooks
        self._thresholds_for = thresholds_for
        self._sdk: Any = None

    @property
    def max_attempts(self) -> int:
        return self.config.max_attempts

    @property
    def cooldown(self) -> timedelta:
        return parse_duration(self.config.cooldown)

    def choose(
        self, db: sqlite_utils.Database, incident: Incident, host: Host, now: datetime
    ) -> L2Choice:
        check = self._catalog.get(incident.check_id)
        offered = guardrails.offered(self._runbooks, check.id, host.platform)
        if not offered:
            reason = f"no L1 rule matches and no runbook fixes {check.id}"
            return L2Choice(None, reason, None, nothing_offered=True)
        thresholds = self._thresholds_for(check)
        drift = drift_of(check, incident.status, incident.facts, thresholds)
        base = _Base(now, incident.id, incident.host, check.id, drift.signature)
        cached = cache.lookup(db, drift.signature, now, self.config.cache_hours)
        if cached is not None:
            return self._reuse(db, cached, offered, base)
        refusal = over_budget(db, self.config, now)
        if refusal is not None:
            return L2Choice(None, f"L2 budget spent: {refusal}; a person looks", None)
        request = build_request(
            model=self.config.model,
            max_tokens=self.config.max_tokens,
            check=check,
            drift=drift,
            status=incident.status,
            facts=incident.facts,
            thresholds=thresholds,
            host=host,
            offered=offered,
            history=pattern_history(db, check, drift, thresholds, self.config.history),
        )
        return self._ask(db, request, offered, base)

    def _ask(
        self, db: sqlite_utils.Database, request: Request, offered: list[Runbook], base: _Base
    ) -> L2Choice:
        import anthropic

        try:
            message = self._client().messages.create(**request.params)
        except anthropic.AnthropicError as exc:
            error = self._redact(self._describe(exc))
            reason = f"L2 planner unavailable ({error}); a person looks"
            row = self._row(base, L2Verdict.ERROR, reason, request=request, error=error)
            return L2Choice(None, reason, log.record(db, row))
        usage = message.usage
        # cache writes and reads are billed as input too (at other rates): counting them
        # at the input price errs on the side of the budget
        tokens_in = (
            usage.input_tokens
            + (usage.cache_creation_input_tokens or 0)
            + (usage.cache_read_input_tokens or 0)
        )
        cost = cost_of(tokens_in, usage.output_tokens, self.config.prices[self.config.model])
        answer: Answer | None = None
        try:
            answer = parse_reply(message.content)
            judgement = judge(answer, request.offered, self.config.min_confidence)
        except UnreadableAnswer as exc:
            judgement = Judgement(
                L2Verdict.UNREADABLE, None, f"L2 gave no usable answer ({exc}); a person looks"
            )
        row = self._row(
            base,
            judgement.verdict,
            judgement.reason,
            request=request,
            answer=answer,
            tokens=(tokens_in, usage.output_tokens),
            cost=cost,
        )
        return self._choice(judgement.runbook_id, judgement.reason, offered, log.record(db, row))

    def _reuse(
        self,
        db: sqlite_utils.Database,
        cached: log.LoggedCall,
        offered: list[Runbook],
        base: _Base,
    ) -> L2Choice:
        judgement = cache.judge_cached(cached, [r.id for r in offered], self.config.min_confidence)
        call_id = self._log_reuse(db, cached, judgement, base)
        return self._choice(judgement.runbook_id, judgement.reason, offered, call_id)

    def record_reuse(
        self, db: sqlite_utils.Database, incident: Incident, cached: log.LoggedCall, now: datetime
    ) -> int:
        """Log that a plan acted on the cached answer ``cached`` for ``incident``: a cache
        hit costs nothing, but every answer acted on has its own row (its action and
        outcome are filled in there)."""
        check = self._catalog.get(incident.check_id)
        offered = guardrails.offered(self._runbooks, check.id, check.platform)
        judgement = cache.judge_cached(cached, [r.id for r in offered], self.config.min_confidence)
        drift = drift_of(check, incident.status, incident.facts, self._thresholds_for(check))
        base = _Base(now, incident.id, incident.host, check.id, drift.signature)
        return self._log_reuse(db, cached, judgement, base)

    def _log_reuse(
        self, db: sqlite_utils.Database, cached: log.LoggedCall, judgement: Judgement, base: _Base
    ) -> int:
        answer = Answer(cached.decision or "", cached.confidence or 0.0, cached.reasoning or "")
        row = self._row(
            base, judgement.verdict, judgement.reason, answer=answer, cached_from=cached.id
        )
        return log.record(db, row)

    def _choice(
        self, runbook_id: str | None, reason: str, offered: list[Runbook], call_id: int
    ) -> L2Choice:
        runbook = next((r for r in offered if r.id == runbook_id), None)
        return L2Choice(runbook, reason, call_id)

    def _row(
        self,
        base: _Base,
        verdict: L2Verdict,
        reason: str,
        *,
        request: Request | None = None,
        answer: Answer | None = None,
        tokens: tuple[int, int] = (0, 0),
        cost: float = 0.0,
        cached_from: int | None = None,
        error: str | None = None,
    ) -> log.CallRecord:
        return log.CallRecord(
            at=base.at,
            incident_id=base.incident_id,
            host=base.host,
            check_id=base.check_id,
            signature=base.signature,
            model=self.config.model,
            verdict=verdict,
            reason=reason,
            cached_from=cached_from,
            prompt_digest=request.digest if request else None,
            prompt=request.text if request else None,
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            cost=cost,
            decision=answer.runbook if answer else None,
            confidence=answer.confidence if answer else None,
            reasoning=answer.reasoning if answer else None,
            error=error,
        )

    def _client(self) -> Any:
        if self._sdk is None:
            import anthropic

            # the key goes to the SDK only: it reads no environment or profile when given one
            self._sdk = anthropic.Anthropic(
                api_key=self._key.reveal(),
                base_url=self.config.base_url,
                timeout=self.config.timeout,
                max_retries=self.config.max_retries,
            )
        return self._sdk

    def _describe(self, exc: Exception) -> str:
        import anthropic

        retries = f"{self.config.max_retries} retries"
        if isinstance(exc, anthropic.APITimeoutError):
            return f"timed out after {self.config.timeout:g} s, {retries}"
        if isinstance(exc, anthropic.APIConnectionError):
            return f"cannot connect ({exc}), {retries}"
        if isinstance(exc, anthropic.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            error = body.get("error") if isinstance(body.get("error"), dict) else body
            kind = error.get("type", "error") if isinstance(error, dict) else "error"
            text = error.get("message", "") if isinstance(error, dict) else ""
            return f"HTTP {exc.status_code} {kind}: {str(text)[:200]}, {retries}"
        return f"{type(exc).__name__}: {str(exc)[:200]}"

    def _redact(self, text: str) -> str:
        key = self._key.reveal()
        return text.replace(key, "***") if key else text
