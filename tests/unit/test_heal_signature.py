"""The one pattern signature: stable across hosts, distinct across findings and runbooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from osiris.catalog import load_catalog
from osiris.catalog.loader import load_check
from osiris.heal.signature import SIGNATURE_VERSION, drift_of
from osiris.model import Platform, Status

CATALOG = load_catalog()
NETWORK = CATALOG.get("lnx_kernel_network")
CLEAN = {
    "ip_forward": 0,
    "tcp_syncookies": 1,
    "accept_redirects": 0,
    "default_accept_redirects": 0,
    "send_redirects": 0,
    "accept_source_route": 0,
    "ipv6_accept_redirects": 0,
}
THRESHOLDS = NETWORK.default_thresholds()


def test_the_same_finding_on_two_hosts_is_one_signature_whatever_the_values() -> None:
    one = drift_of(NETWORK, Status.FAIL, {**CLEAN, "ip_forward": 1}, THRESHOLDS)
    two = drift_of(NETWORK, Status.FAIL, {**CLEAN, "ip_forward": 2}, THRESHOLDS)
    assert one == two
    assert one.signature == two.signature
    assert one.finding == "ip_forwarding" and one.facts == ("ip_forward",)
    assert one.platform is Platform.LINUX


def test_another_finding_or_another_runbook_is_another_signature() -> None:
    forwarding = drift_of(NETWORK, Status.FAIL, {**CLEAN, "ip_forward": 1}, THRESHOLDS)
    source_route = drift_of(NETWORK, Status.FAIL, {**CLEAN, "accept_source_route": 1}, THRESHOLDS)
    assert forwarding.signature != source_route.signature
    first = forwarding.with_runbook("linux_kernel_network_no_forwarding")
    second = forwarding.with_runbook("linux_kernel_network")
    assert len({forwarding.signature, first.signature, second.signature}) == 3
    assert first.describe()["runbook_id"] == "linux_kernel_network_no_forwarding"
    assert first.describe()["signature"] == first.signature


def test_facts_that_cannot_be_read_give_no_finding() -> None:
    assert drift_of(NETWORK, Status.ERROR, None, THRESHOLDS).finding is None
    broken = drift_of(NETWORK, Status.ERROR, {"ip_forward": "x"}, THRESHOLDS)
    assert broken.finding is None and broken.facts == ()


def test_signatures_are_pinned_values() -> None:
    """A changed signature splits every learned pattern and orphans every promoted rule:
    these values change only with SIGNATURE_VERSION, on purpose."""
    assert SIGNATURE_VERSION == 2
    drift = drift_of(NETWORK, Status.FAIL, {**CLEAN, "ip_forward": 1}, THRESHOLDS)
    assert drift.signature == "b42feca72606297ab6f83a7172f1b397"
    pattern = drift.with_runbook("linux_kernel_network_no_forwarding")
    assert pattern.signature == "81aaa65a8b3ce6cb0afaae57b983736c"


@pytest.mark.parametrize("edit", ["reverse", "insert"])
def test_a_reordered_or_extended_check_keeps_its_signatures(tmp_path, edit: str) -> None:
    """Patterns and promoted rules name the evaluate rule by id, so moving a check's rules
    around, or adding one before the others, re-targets nothing."""
    text = (Path(NETWORK.source)).read_text()
    head, _, rest = text.partition("evaluate:\n")
    body, _, tail = rest.partition("references:")
    rules = ["  - id:" + r for r in body.split("  - id:")[1:]]
    if edit == "reverse":
        rules = [*reversed(rules[:-1]), rules[-1]]
    else:
        new = "  - id: new_first\n    status: warning\n    when: {fact: ip_forward, eq: 9}\n"
        rules = [new + '    reason: "new"\n', *rules]
    path = tmp_path / "lnx_kernel_network.yaml"
    path.write_text(head + "evaluate:\n" + "".join(rules) + "references:" + tail)
    edited = load_check(path)
    assert [r.id for r in edited.rules] != [r.id for r in NETWORK.rules]
    for facts in ({**CLEAN, "ip_forward": 1}, {**CLEAN, "accept_source_route": 1}):
        before = drift_of(NETWORK, Status.FAIL, facts, THRESHOLDS)
        after = drift_of(edited, Status.FAIL, facts, THRESHOLDS)
        assert after.signature == before.signature
