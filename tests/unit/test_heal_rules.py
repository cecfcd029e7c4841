"""L1 rules load strictly; maintenance windows; the planner's pure parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from osiris.catalog import default_catalog_dir, load_catalog
from osiris.catalog.evaluate import evaluate
from osiris.config import MaintenanceWindow
from osiris.errors import InputError
from osiris.heal.plan import in_window
from osiris.heal.rules import load_rules, parse_duration, rule_files
from osiris.heal.runbooks import load_runbooks
from osiris.heal.signature import drift_of

CATALOG = load_catalog()
RUNBOOKS = load_runbooks(CATALOG)


def write(tmp_path: Path, rules: list[dict]) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"rules": rules}, sort_keys=False))
    return path


GOOD = {
    "id": "r1",
    "description": "harden sshd",
    "checks": ["lnx_ssh_hardening"],
    "runbook": "linux_sshd_harden",
}


def test_builtin_rules_load_and_name_real_runbooks() -> None:
    rules = load_rules(rule_files(default_catalog_dir(), None), CATALOG, RUNBOOKS)
    assert rules
    for rule in rules:
        runbook = RUNBOOKS.get(rule.runbook)
        assert rule.checks <= set(runbook.spec.fixes)
    # every shipped runbook is reachable: a runbook no rule names never runs at L1
    assert {r.id for r in RUNBOOKS} == {rule.runbook for rule in rules}


@pytest.mark.parametrize(
    ("change", "message", "field"),
    [
        ({"checks": ["lnx_nope"]}, "unknown check id 'lnx_nope'", "rules.0.checks.0"),
        ({"runbook": "linux_nope"}, "unknown runbook id 'linux_nope'", "rules.0.runbook"),
        ({"checks": ["lnx_firewall"]}, "does not fix ['lnx_firewall']", "rules.0.runbook"),
        ({"cooldown": "soon"}, "is not a duration", "rules.0.cooldown"),
        ({"when": {"fact": "facts.nope", "eq": 1}}, "unknown fact 'facts.nope'", "rules.0.when"),
        ({"when": {"fact": "status", "like": "x"}}, "unknown operator 'like'", "rules.0.when"),
        # a finding is an evaluate rule's id; a position (as before ids) would never match
        (
            {"when": {"all": [{"fact": "status", "eq": "fail"}, {"fact": "finding", "eq": 2}]}},
            "finding 2 is not an evaluate rule id of lnx_ssh_hardening",
            "rules.0.when",
        ),
        (
            {"when": {"fact": "finding", "in": ["root_password_login", "root_login_by_key"]}},
            "finding 'root_login_by_key' is not an evaluate rule id",
            "rules.0.when",
        ),
    ],
)
def test_a_bad_rule_is_a_load_error_naming_file_line_field(
    tmp_path: Path, change: dict, message: str, field: str
) -> None:
    path = write(tmp_path, [{**GOOD, **change}])
    with pytest.raises(InputError) as caught:
        load_rules([path], CATALOG, RUNBOOKS)
    assert message in caught.value.message
    assert caught.value.file == str(path) and caught.value.field == field
    assert caught.value.line is not None


def test_a_rule_may_match_a_finding_by_its_id(tmp_path: Path) -> None:
    when = {"fact": "finding", "in": ["root_password_login", "max_auth_tries_high"]}
    (rule,) = [
        r
        for r in load_rules([write(tmp_path, [{**GOOD, "when": when}])], CATALOG, RUNBOOKS)
        if r.id == "r1"
    ]
    assert rule.matches({"finding": "max_auth_tries_high"})
    assert not rule.matches({"finding": "hardened"})


def test_rules_are_frozen_and_ordered_by_priority(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD, {**GOOD, "id": "r2", "priority": 500}])
    first, second = load_rules([path], CATALOG, RUNBOOKS)
    assert (first.id, second.id) == ("r2", "r1")
    with pytest.raises(AttributeError):
        first.runbook = "linux_other"  # type: ignore[misc]
    scope = {"status": "fail", "facts": {"running": True}}
    assert first.matches(scope)


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("10m") == timedelta(minutes=10)
    assert parse_duration("2h") == timedelta(hours=2)
    with pytest.raises(ValueError):
        parse_duration("2 weeks")


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (datetime(2026, 11, 27, 23, 0, tzinfo=UTC), True),  # Friday night
        (datetime(2026, 11, 28, 5, 59, tzinfo=UTC), True),  # Saturday morning, from Friday
        (datetime(2026, 11, 28, 6, 0, tzinfo=UTC), False),
        (datetime(2026, 11, 28, 23, 0, tzinfo=UTC), False),  # Saturday night: not a listed day
        (datetime(2026, 11, 27, 12, 0, tzinfo=UTC), False),
    ],
)
def test_maintenance_window_past_midnight(moment: datetime, inside: bool) -> None:
    window = MaintenanceWindow(days=("mon", "tue", "wed", "thu", "fri"), start="22:00", end="06:00")
    assert in_window(window, moment) is inside


def test_a_site_rule_replaces_or_turns_off_a_builtin_of_the_same_id(tmp_path: Path) -> None:
    builtin = rule_files(default_catalog_dir(), None)
    site = tmp_path / "home" / "rules"
    site.mkdir(parents=True)
    (site / "site.yaml").write_text(
        yaml.safe_dump(
            {
                "rules": [
                    {**GOOD, "id": "linux_ssh_hardening", "priority": 7},
                    {
                        **GOOD,
                        "id": "linux_firewall",
                        "runbook": "linux_firewall",
                        "checks": ["lnx_firewall"],
                        "enabled": False,
                    },
                ]
            }
        )
    )
    rules = {
        r.id: r
        for r in load_rules(rule_files(default_catalog_dir(), tmp_path / "home"), CATALOG, RUNBOOKS)
    }
    assert rules["linux_ssh_hardening"].priority == 7
    assert rules["linux_ssh_hardening"].source == str(site / "site.yaml")
    assert "linux_firewall" not in rules
    assert "linux_firewall" in {r.id for r in load_rules(builtin, CATALOG, RUNBOOKS)}
    twice = tmp_path / "twice"
    twice.mkdir()
    for name in ("a.yaml", "b.yaml"):
        (twice / name).write_text(yaml.safe_dump({"rules": [GOOD]}))
    with pytest.raises(InputError, match="duplicate rule id 'r1'"):
        load_rules(sorted(twice.glob("*.yaml")), CATALOG, RUNBOOKS)


@pytest.mark.parametrize(
    ("facts", "matched"),
    [
        ({"security_updates": 3, "security_source": True}, True),
        # the runbook installs updates; it cannot add a source, reboot or refresh lists
        ({"security_updates": 0, "security_source": False}, False),
        ({"security_updates": 0, "reboot_required": True}, False),
        ({"security_updates": 0, "lists_age_days": 30}, False),
    ],
)
def test_the_builtin_patch_rule_matches_only_what_its_runbook_fixes(
    facts: dict, matched: bool
) -> None:
    check = CATALOG.get("lnx_patch_level")
    base = {"reboot_required": False, "lists_age_days": 1, "security_source": True}
    full = {**base, **facts}
    status, _ = evaluate(check, full, check.default_thresholds())
    drift = drift_of(check, status, full, check.default_thresholds())
    rules = load_rules(rule_files(default_catalog_dir(), None), CATALOG, RUNBOOKS)
    (rule,) = [r for r in rules if r.id == "linux_security_updates"]
    assert rule.matches({"status": status.value, "finding": drift.finding}) is matched
