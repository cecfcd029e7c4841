"""The L2 request carries no PHI, whatever a host reports: patient identifiers embedded in
paths, user names, service and package names, in every fact of every check, and in the
site's thresholds, never reach the request sent to the LLM (a third party). What the
decision needs (numbers, booleans, declared vocabularies, catalog defaults, the system
directory of a path) still does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osiris.catalog import Check, load_catalog
from osiris.catalog.model import FactSpec, FactType
from osiris.heal.l2.prompt import Request, build_request
from osiris.heal.runbooks import load_runbooks
from osiris.heal.signature import drift_of
from osiris.model import Connection, Host, Platform, Role, Status

CATALOG = load_catalog()
RUNBOOKS = load_runbooks(CATALOG)

# (as embedded, what must never appear in the request): each kind of identifier the
# issue names, in the shapes hosts show them
PHI = [
    ("123-45-6789", "123-45-6789"),
    ("123456789", "123456789"),
    ("123 45 6789", "45 6789"),
    ("MRN00482913", "00482913"),
    ("mrn-7730012", "7730012"),
    ("1984-07-21", "1984-07-21"),
    ("07/21/1984", "07/21/1984"),
    ("dob19840721", "19840721"),
    ("maria.garcia", "garcia"),
    ("MariaGarcia", "Garcia"),
    ("Garcia, Maria", "Garcia"),
    ("555-867-5309", "867-5309"),
    ("(555) 867-5309", "867-5309"),
    ("5558675309", "5558675309"),
    ("jdoe@clinic.example", "jdoe@"),
]
NEEDLES = sorted({needle for _, needle in PHI})
WRAPS = [
    ("", ""),
    ("export-", ""),
    ("patient_", ".pdf"),
    ("/usr/local/sbin/export-", ""),
    ("/home/", "/notes.txt"),
    ("/var/lib/ehr/", ".db"),
    ("C:\\Users\\", "\\Desktop\\scan.pdf"),
    ("svc-", ".service"),
    ("pkg-", "-1.0.2"),
    ("", "$"),
]


@st.composite
def phi_text(draw: st.DrawFn) -> str:
    embedded, _ = draw(st.sampled_from(PHI))
    before, after = draw(st.sampled_from(WRAPS))
    return f"{before}{embedded}{after}"


def value_of(spec: FactSpec) -> st.SearchStrategy[Any]:
    """A value of the declared shape whose every piece of text carries an identifier."""
    if spec.type is FactType.STRING:
        return phi_text()
    if spec.type is FactType.INTEGER:
        return st.integers(0, 10_000)
    if spec.type is FactType.NUMBER:
        return st.floats(0, 1000, allow_nan=False)
    if spec.type is FactType.BOOLEAN:
        return st.booleans()
    if spec.type is FactType.OBJECT:
        return st.dictionaries(phi_text(), phi_text(), min_size=1, max_size=3)
    items = spec.items
    item: st.SearchStrategy[Any]
    if isinstance(items, dict):
        item = st.fixed_dictionaries({name: value_of(field) for name, field in items.items()})
    elif isinstance(items, FactType):
        item = value_of(FactSpec(type=items))
    else:
        item = phi_text()
    return st.lists(item, min_size=1, max_size=4)


def request_for(check: Check, facts: Mapping[str, Any], thresholds: Mapping[str, Any]) -> Request:
    connection = Connection.SSH if check.platform is Platform.LINUX else Connection.WINRM
    host = Host("ws-garcia-01", "10.0.0.1", connection, check.platform, Role.SERVER)
    drift = drift_of(check, Status.FAIL, facts, thresholds)
    return build_request(
        model="claude-test",
        max_tokens=512,
        check=check,
        drift=drift,
        status=Status.FAIL,
        facts=facts,
        thresholds=thresholds,
        host=host,
        offered=RUNBOOKS.for_check(check.id),
        history={"answers": [], "actions": []},
    )


def phi_in(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


@pytest.mark.parametrize("check", list(CATALOG), ids=lambda c: c.id)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_identifier_a_host_reports_reaches_the_request(
    check: Check, data: st.DataObject
) -> None:
    facts = {name: data.draw(value_of(spec), label=name) for name, spec in check.spec.facts.items()}
    request = request_for(check, facts, check.default_thresholds())
    assert phi_in(request.text) == []
    assert "ws-garcia-01" not in request.text


@pytest.mark.parametrize("check", [c for c in CATALOG if c.spec.thresholds], ids=lambda c: c.id)
@given(data=st.data())
@settings(max_examples=10, deadline=None)
def test_no_identifier_in_a_site_threshold_reaches_the_request(
    check: Check, data: st.DataObject
) -> None:
    """A site may list its people (approved admins, accounts to keep) in thresholds."""
    thresholds = {
        name: data.draw(st.lists(phi_text(), min_size=1, max_size=3) | phi_text(), label=name)
        for name in check.spec.thresholds
    }
    facts = {name: None for name in check.spec.facts}
    assert phi_in(request_for(check, facts, thresholds).text) == []


def test_the_suid_file_named_like_an_ssn_is_a_placeholder_in_its_directory() -> None:
    """The case seen: a set-user-ID file named like an SSN was sent as it was."""
    check = CATALOG.get("lnx_suid_files")
    facts = {"suid_files": ["/usr/bin/passwd", "/usr/local/sbin/export-123-45-6789"]}
    request = request_for(check, facts, check.default_thresholds())
    content = request.params["messages"][0]["content"]
    assert "123-45-6789" not in request.text
    assert "/usr/local/sbin/\\u003cpath 1\\u003e" in content  # blocks escape < and >
    assert "/usr/bin/passwd" in content  # a default allowed file is catalog data


def test_what_the_decision_needs_still_goes_out() -> None:
    check = CATALOG.get("lnx_ssh_hardening")
    facts = {
        "running": True,
        "permit_root_login": "yes",
        "password_authentication": "yes",
        "permit_empty_passwords": "no",
        "max_auth_tries": 6,
    }
    request = request_for(check, facts, check.default_thresholds())
    host_data = request.params["messages"][0]["content"].split("<host_data>")[1]
    for sent in ('"permit_root_login":"yes"', '"max_auth_tries":6', '"running":true'):
        assert sent in host_data.replace(" ", "")
    # an unknown value of a declared vocabulary is replaced, not sent
    odd_facts = {**facts, "permit_root_login": "yes # jdoe@clinic.example"}
    odd = request_for(check, odd_facts, check.default_thresholds())
    assert "jdoe@" not in odd.text
