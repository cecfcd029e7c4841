"""Reasons show values for people: lists as "a, b", objects by a named field, only the
items that made a quantified rule hold; strict rendering refuses the fallbacks."""

from __future__ import annotations

import pytest

from osiris.catalog import load_catalog
from osiris.catalog.evaluate import evaluate
from osiris.catalog.reason import ReasonError, render_reason
from osiris.model import Status


def test_a_quantified_list_shows_only_the_items_that_made_the_rule_hold() -> None:
    check = load_catalog().get("lnx_suid_files")
    facts = {"suid_files": ["/usr/bin/passwd", "/usr/local/bin/rootsh", "/usr/bin/su"]}
    status, reason = evaluate(check, facts, check.default_thresholds())
    assert status is Status.FAIL
    assert "/usr/local/bin/rootsh" in reason and "passwd" not in reason


@pytest.mark.parametrize(
    ("template", "facts", "shown"),
    [
        ("files: {files}", {"files": ["/a", "/b"]}, "files: /a, /b"),
        ("files: {files}", {"files": []}, "files: none"),
        ("certs: {certs:path}", {"certs": [{"path": "/a", "days": 1}]}, "certs: /a"),
        ("mode {mode:o}", {"mode": 420}, "mode 644"),
        ("allowed: {threshold.allowed}", {}, "allowed: root, toor"),
    ],
)
def test_values_are_shown_for_people(template: str, facts: dict, shown: str) -> None:
    assert render_reason(template, facts, {"allowed": ["root", "toor"]}) == shown


@pytest.mark.parametrize(
    ("template", "facts", "lenient"),
    [
        ("about {days} days", {"days": None}, "about unknown days"),
        ("on {flag}", {"flag": True}, "on yes"),
        ("certs: {certs}", {"certs": [{"path": "/a"}]}, "certs: path /a"),
    ],
)
def test_fallbacks_read_as_words_and_strict_rendering_refuses_them(
    template: str, facts: dict, lenient: str
) -> None:
    assert render_reason(template, facts, {}) == lenient
    with pytest.raises(ReasonError):
        render_reason(template, facts, {}, strict=True)
