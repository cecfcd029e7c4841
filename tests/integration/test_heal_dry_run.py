"""`osiris heal --dry-run` on a drifted lab host: it records its scan as `osiris scan`
does and nothing else, sends nothing to the LLM, changes nothing on the host, and
previews every drift with what would hold it.

The LLM is the stand-in for the Anthropic API (tests/stubs/anthropic_api.py), which
records every request it gets; with nothing scripted it answers 500, so an unexpected
call also fails the heal's own L2 step.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.test_heal import on_host, rule, test_playbooks  # noqa: F401 (fixture)
from tests.integration.test_scan_lab import write_inventory
from tests.lab import drift
from tests.stubs.anthropic_api import TEST_KEY, AnthropicStub

CHECKS = "lnx_ssh_hardening,lnx_file_permissions,lnx_password_policy,lnx_firewall"
# what the host looks like to a person: sshd, the shadow file, pwquality, the firewall
HOST_STATE = (
    "sshd -T | sort | sha256sum; stat -c %a /etc/shadow; ls -R /etc/security;"
    " nft list ruleset | sha256sum"
)


@pytest.fixture
def stub() -> Iterator[AnthropicStub]:
    with AnthropicStub() as server:
        yield server


def row_counts(home: Path) -> dict[str, int]:
    db = sqlite3.connect(home / "osiris.db")
    tables = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Rows added per table. The Merkle log's stored inner nodes are left out: how many
    one more leaf adds depends on the tree's size, not on what the leaf is."""
    return {t: after[t] - before[t] for t in after if after[t] != before[t] and t != "log_nodes"}


def test_a_dry_run_records_its_scan_and_nothing_else_and_asks_no_llm(
    osiris,
    fresh_host,
    lab_env,
    tmp_path,
    stub,
    test_playbooks,  # noqa: F811
):
    assert osiris("init").returncode == 0
    home = tmp_path / "home"
    (home / "rules").mkdir()
    rules = [
        # passwords: a disruptive runbook (an approval would be requested)
        rule("lnx_password_policy", "linux_test_approval"),
        # firewall: the built-in rule off, so L2 would be asked
        {
            "id": "linux_firewall",
            "description": "turned off: L2 decides",
            "checks": ["lnx_firewall"],
            "runbook": "linux_firewall",
            "enabled": False,
        },
    ]
    (home / "rules" / "test.yaml").write_text(yaml.safe_dump({"rules": rules}))
    config = yaml.safe_load((home / "config.yaml").read_text())
    config["heal"] = {"breaker_actions": 1}  # one action per host: the second one is held
    config["l2"] = {**config["l2"], "base_url": stub.base_url, "max_retries": 0}
    (home / "config.yaml").write_text(yaml.safe_dump(config))
    drift.apply(
        fresh_host, "ssh_root_password", "shadow_world_readable", "pwquality_8", "firewall_off"
    )
    inventory = str(write_inventory(tmp_path, {fresh_host.name: fresh_host.address}))
    env = {**lab_env, "ANTHROPIC_API_KEY": TEST_KEY, "OSIRIS_PLAYBOOKS": str(test_playbooks)}

    # what one scan of these checks adds to the database
    scan = ("scan", "-i", inventory, "--checks", CHECKS, "--json")
    assert osiris(*scan, env=env, timeout=300).returncode == 1
    before = row_counts(home)
    assert osiris(*scan, env=env, timeout=300).returncode == 1
    scanned = row_counts(home)
    host_before = on_host(fresh_host, HOST_STATE)

    result = osiris(
        "heal", "-i", inventory, "--checks", CHECKS, "--dry-run", "--json", env=env, timeout=600
    )
    assert result.returncode == 1, result.stdout + result.stderr  # the drift remains
    document = json.loads(result.stdout)

    # the dry run added exactly what a scan adds: its run, results and evidence
    assert delta(scanned, row_counts(home)) == delta(before, scanned)
    assert stub.requests == []
    assert on_host(fresh_host, HOST_STATE) == host_before

    # every drift, with what a real heal would do and what would hold it
    plan = {step["check_id"]: step for step in document["plan"]}
    assert set(plan) == set(CHECKS.split(","))
    assert all(step["incident"] is None for step in plan.values())  # none was opened
    assert (plan["lnx_firewall"]["decision"], plan["lnx_firewall"]["tier"]) == ("ask_l2", "l2")
    assert "would ask L2" in plan["lnx_firewall"]["reason"]
    passwords = plan["lnx_password_policy"]
    assert (passwords["decision"], passwords["rail"], passwords["runbook"]) == (
        "awaiting_approval",
        "approval",
        "linux_test_approval",
    )
    assert "would request approval" in passwords["reason"]
    held = {plan[c]["decision"] for c in ("lnx_ssh_hardening", "lnx_file_permissions")}
    assert held == {"heal", "deferred"}  # the breaker allows one of the two
    deferred = next(s for s in plan.values() if s["decision"] == "deferred")
    assert deferred["rail"] == "circuit_breaker"

    # every planned fix is previewed in check mode, with the rail that would hold it
    previews = {a["runbook_id"]: a for a in document["actions"]}
    assert set(previews) == {"linux_sshd_harden", "linux_file_permissions", "linux_test_approval"}
    assert all(a["outcome"] == "dry_run" for a in previews.values())
    assert previews["linux_test_approval"]["held_by"] == "approval"
    assert "PermitRootLogin" in previews["linux_sshd_harden"]["diff"]
    assert {a["held_by"] for a in previews.values()} == {None, "circuit_breaker", "approval"}
