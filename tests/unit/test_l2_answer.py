"""Reading L2 replies and judging answers: pure functions, no server needed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from osiris.config import L2Config, ModelPrice
from osiris.heal.l2.answer import Answer, UnreadableAnswer, first_json_object, parse_reply
from osiris.heal.l2.budget import cost_of
from osiris.heal.l2.guardrails import judge
from osiris.model import L2Verdict


def text(value: str) -> SimpleNamespace:
    return SimpleNamespace(type="text", text=value)


def tool(data: object, name: str = "choose_runbook") -> SimpleNamespace:
    return SimpleNamespace(type="tool_use", name=name, input=data)


GOOD = {"runbook": "linux_usb_storage", "confidence": 0.9, "reasoning": "blocks the module"}


def test_the_forced_tool_call_is_the_answer() -> None:
    answer = parse_reply([text("Let me choose."), tool(GOOD)])
    assert answer == Answer("linux_usb_storage", 0.9, "blocks the module")


def test_json_followed_by_prose_is_read() -> None:
    reply = (
        'Sure {not json}. {"runbook": "linux_usb_storage", "confidence": 0.8,'
        ' "reasoning": "a {braced} word"}\n\nI chose it because {it} fits. {"runbook": "other"}'
    )
    assert parse_reply([text(reply)]) == Answer("linux_usb_storage", 0.8, "a {braced} word")


def test_another_tool_is_not_an_answer() -> None:
    with pytest.raises(UnreadableAnswer, match="no choose_runbook call and no JSON"):
        parse_reply([tool(GOOD, name="run_shell")])


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"confidence": 0.9}, "no 'runbook' string"),
        ({**GOOD, "runbook": 7}, "no 'runbook' string"),
        ({**GOOD, "confidence": "high"}, "'confidence' must be a number"),
        ({**GOOD, "confidence": True}, "'confidence' must be a number"),
        ({**GOOD, "confidence": 1.5}, "'confidence' must be a number"),
        ({**GOOD, "confidence": float("nan")}, "'confidence' must be a number"),
        ({**GOOD, "reasoning": ["a"]}, "'reasoning' must be a string"),
        (["linux_usb_storage"], "not an object"),
    ],
)
def test_malformed_answers_are_unreadable(data: object, problem: str) -> None:
    with pytest.raises(UnreadableAnswer, match=problem):
        parse_reply([tool(data)])


def test_first_json_object_skips_what_is_not_an_object() -> None:
    assert first_json_object('[1, 2] {"a": {"b": 1}} {"c": 2}') == {"a": {"b": 1}}
    assert first_json_object("no object {here") is None


OFFERED = ["linux_kernel_network", "linux_kernel_network_no_forwarding"]


def test_an_offered_runbook_with_enough_confidence_is_chosen() -> None:
    judged = judge(Answer("linux_kernel_network", 0.7, "source routing only"), OFFERED, 0.7)
    assert (judged.verdict, judged.runbook_id) == (L2Verdict.CHOSEN, "linux_kernel_network")


@pytest.mark.parametrize(
    ("answer", "verdict", "says"),
    [
        (Answer("escalate", 0.95, "routing host"), L2Verdict.ESCALATE, "L2 escalates: routing"),
        (Answer("linux_sshd_harden", 0.99, ""), L2Verdict.OUT_OF_ENUM, "not one of the runbooks"),
        (Answer("rm -rf /", 1.0, ""), L2Verdict.OUT_OF_ENUM, "'rm -rf /'"),
        (Answer("linux_kernel_network", 0.69, "unsure"), L2Verdict.LOW_CONFIDENCE, "0.69"),
    ],
)
def test_everything_else_goes_to_a_person(answer: Answer, verdict: L2Verdict, says: str) -> None:
    judged = judge(answer, OFFERED, 0.7)
    assert judged.verdict is verdict and judged.runbook_id is None
    assert says in judged.reason


def test_cost_is_tokens_times_the_price_per_million() -> None:
    assert cost_of(2_000, 100, ModelPrice(input=3.0, output=15.0)) == pytest.approx(0.0075)


def test_a_model_without_a_price_is_a_config_error() -> None:
    with pytest.raises(ValueError, match=r"no entry in l2\.prices"):
        L2Config(model="claude-unknown-9")
    assert L2Config(model="mine", prices={"mine": ModelPrice(input=1, output=2)}).model == "mine"
