"""The one pattern signature: stable across hosts, distinct across findings and runbooks."""

from __future__ import annotations

from osiris.catalog import load_catalog
from osiris.heal.signature import drift_of
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
    assert one.finding == 0 and one.facts == ("ip_forward",)
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
    assert drift_of(NETWORK, Status.ERROR, None, THRESHOLDS).finding == -1
    broken = drift_of(NETWORK, Status.ERROR, {"ip_forward": "x"}, THRESHOLDS)
    assert broken.finding == -1 and broken.facts == ()


def test_signatures_are_stable_across_releases() -> None:
    """A changed signature splits every learned pattern: bump SIGNATURE_VERSION on purpose."""
    drift = drift_of(NETWORK, Status.FAIL, {**CLEAN, "ip_forward": 1}, THRESHOLDS)
    assert drift.with_runbook("linux_kernel_network_no_forwarding").signature == (
        drift.with_runbook("linux_kernel_network_no_forwarding").signature
    )
    assert len(drift.signature) == 32 and int(drift.signature, 16) >= 0
