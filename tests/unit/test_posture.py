"""The posture of a framework: which controls the results show met, partly, not met.

Real registry (the shipped framework data); results are built by hand, as a scan
records them (one per host and check).
"""

from __future__ import annotations

import pytest

from osiris.catalog import load_catalog
from osiris.frameworks import FrameworkId, load_registry
from osiris.frameworks.posture import (
    ControlStatus,
    catalog_citations,
    posture,
    postures,
    short_name,
)
from osiris.model import CheckResult, Status

CITATIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "lnx_a": {"hipaa": ("164.312(b)",), "soc2": ("CC7.2",)},
    "lnx_b": {"hipaa": ("164.312(b)", "164.312(d)"), "soc2": ()},
    "lnx_c": {"hipaa": ("164.308(a)(5)(ii)(C)",), "soc2": ()},
    "lnx_d": {"hipaa": ("164.310(d)(1)",), "soc2": ()},
}


def result(host: str, check_id: str, status: Status) -> CheckResult:
    return CheckResult(host, check_id, status, "a reason")


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def statuses(found) -> dict[str, ControlStatus]:
    return {c.control.id: c.status for c in found.controls}


def test_each_status_of_the_rule(registry) -> None:
    cases = [
        # (results of the citing checks, the control's status)
        ([Status.PASS, Status.PASS], ControlStatus.MET),
        ([Status.PASS, Status.NA], ControlStatus.MET),
        ([Status.NA, Status.NA], ControlStatus.NOT_ASSESSED),
        ([Status.ERROR, Status.NA], ControlStatus.NOT_ASSESSED),
        ([Status.PASS, Status.WARNING], ControlStatus.PARTLY_MET),
        ([Status.PASS, Status.ERROR], ControlStatus.PARTLY_MET),
        ([Status.WARNING, Status.FAIL], ControlStatus.NOT_MET),
        ([Status.PASS, Status.ERROR, Status.FAIL], ControlStatus.NOT_MET),
    ]
    for found, expected in cases:
        results = [result(f"h{i}", "lnx_c", s) for i, s in enumerate(found)]
        got = posture(results, CITATIONS, registry, "hipaa")
        assert statuses(got) == {"164.308(a)(5)(ii)(C)": expected}, found


def test_a_control_gathers_every_citing_check_and_only_results_count(registry) -> None:
    results = [
        result("web", "lnx_a", Status.PASS),
        result("db", "lnx_a", Status.PASS),
        result("web", "lnx_b", Status.FAIL),
        result("web", "lnx_c", Status.ERROR),
        result("web", "not_in_citations", Status.FAIL),
    ]
    got = posture(results, CITATIONS, registry, FrameworkId.HIPAA)
    # lnx_d has no result (another platform, not selected): its control is not counted
    assert statuses(got) == {
        "164.308(a)(5)(ii)(C)": ControlStatus.NOT_ASSESSED,
        "164.312(b)": ControlStatus.NOT_MET,
        "164.312(d)": ControlStatus.NOT_MET,
    }
    control = next(c for c in got.controls if c.control.id == "164.312(b)")
    assert control.control.title == "Audit controls"
    assert [(t.check_id, dict(t.counts)) for t in control.checks] == [
        ("lnx_a", {Status.PASS: 2}),
        ("lnx_b", {Status.FAIL: 1}),
    ]
    assert got.count(ControlStatus.NOT_MET) == 2
    assert got.assessed == 2
    # every registry control no counted control covers is listed, not counted
    counted = {c.control.id for c in got.controls}
    assert {c.id for c in got.not_assessed_by_scanning} == {
        c.id for c in registry.controls("hipaa")
    } - counted
    assert "164.310(d)(1)" in {c.id for c in got.not_assessed_by_scanning}


def test_controls_follow_the_registry_order(registry) -> None:
    results = [result("web", c, Status.PASS) for c in ("lnx_d", "lnx_b", "lnx_a", "lnx_c")]
    got = posture(results, CITATIONS, registry, "hipaa")
    order = [c.id for c in registry.controls("hipaa")]
    ids = [c.control.id for c in got.controls]
    assert ids == sorted(ids, key=order.index) and len(ids) == 4


def test_the_line_a_scan_prints(registry) -> None:
    results = [
        result("web", "lnx_a", Status.PASS),
        result("db", "lnx_a", Status.WARNING),
        result("web", "lnx_b", Status.PASS),
        result("web", "lnx_c", Status.ERROR),
        result("web", "lnx_d", Status.FAIL),
    ]
    got = posture(results, CITATIONS, registry, "hipaa")
    assert got.line() == "HIPAA: 1 of 3 controls met, 1 partly, 1 not met (1 not assessed)"
    none = posture([result("web", "lnx_c", Status.NA)], CITATIONS, registry, "hipaa")
    assert none.line() == "HIPAA: no control assessed (1 not assessed)"


def test_postures_skip_frameworks_no_result_speaks_to(registry) -> None:
    found = postures([result("web", "lnx_b", Status.PASS)], CITATIONS, registry)
    assert [p.framework.id for p in found] == [FrameworkId.HIPAA]
    found = postures([result("web", "lnx_a", Status.PASS)], CITATIONS, registry)
    assert [(p.framework.id, p.assessed) for p in found] == [
        (FrameworkId.HIPAA, 1),
        (FrameworkId.SOC2, 1),
    ]
    assert [short_name(p.framework.id) for p in found] == ["HIPAA", "SOC 2"]


def test_catalog_citations_are_the_checks_references() -> None:
    catalog = load_catalog()
    citations = catalog_citations(catalog)
    assert set(citations) == set(catalog.checks)
    check = catalog.get("lnx_ssh_hardening")
    assert citations["lnx_ssh_hardening"] == check.spec.references.by_framework()


def test_an_unknown_framework_is_refused(registry) -> None:
    with pytest.raises(Exception, match="unknown framework 'iso27001'"):
        posture([], CITATIONS, registry, "iso27001")
