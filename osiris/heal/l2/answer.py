"""Reading the model's reply: the one tool call it was forced to make, or JSON in text.

The request forces a call of ``choose_runbook``; a reply without one (a proxy, a model
that ignores ``tool_choice``) is still read when its text holds a JSON object with the
fields, even followed by prose ("{...} I chose this because ..."). Reading is all that
happens here: whether the answer may be used is the guardrails' business.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from osiris.errors import OsirisError

TOOL_NAME = "choose_runbook"
ESCALATE = "escalate"


@dataclass(frozen=True)
class Answer:
    runbook: str  # as the model wrote it: not yet checked against what it was offered
    confidence: float  # 0..1
    reasoning: str


class UnreadableAnswer(OsirisError, ValueError):
    """The reply holds no usable answer; the message says why."""


def parse_reply(blocks: Iterable[Any]) -> Answer:
    """The answer in a message's content blocks (SDK objects: ``type``, ``name``,
    ``input``, ``text``): the first ``choose_runbook`` call, else the first JSON object
    of the text."""
    texts = []
    for block in blocks:
        kind = getattr(block, "type", None)
        if kind == "tool_use" and getattr(block, "name", None) == TOOL_NAME:
            return _answer(getattr(block, "input", None))
        if kind == "text":
            texts.append(str(getattr(block, "text", "")))
    found = first_json_object("".join(texts))
    if found is None:
        raise UnreadableAnswer(f"the reply has no {TOOL_NAME} call and no JSON object")
    return _answer(found)


def first_json_object(text: str) -> dict[str, Any] | None:
    """The first complete JSON object in ``text``, whatever follows it."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def _answer(data: Any) -> Answer:
    if not isinstance(data, Mapping):
        raise UnreadableAnswer("the answer is not an object")
    runbook, confidence = data.get("runbook"), data.get("confidence")
    reasoning = data.get("reasoning", "")
    if not isinstance(runbook, str) or not runbook:
        raise UnreadableAnswer("the answer has no 'runbook' string")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not math.isfinite(confidence)
        or not 0 <= confidence <= 1
    ):
        shown = repr(confidence)[:40]
        raise UnreadableAnswer(f"'confidence' must be a number from 0 to 1, not {shown}")
    if not isinstance(reasoning, str):
        raise UnreadableAnswer("'reasoning' must be a string")
    return Answer(runbook.strip(), float(confidence), reasoning.strip())
