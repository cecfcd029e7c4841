"""The flywheel on a real lab host: what L2 fixes reliably becomes an L1 rule, and after
promotion the same drift is healed by L1 without asking the LLM; a promoted rule that
keeps failing is demoted by the heal that measures one failure too many.

The built-in rule for the drift (root may log in over SSH with a password) is turned off
by a site rule, so no L1 rule matches it and `osiris heal` asks the L2 planner. The LLM
is a local HTTP server speaking the Anthropic Messages API (tests/stubs/anthropic_api.py),
a protocol-level stand-in that the real anthropic SDK talks to unchanged through the
configured base URL; it records every request it receives.

Five times, the host drifts and a heal fixes it with the runbook the stub chooses (the
decision cache is off, so every heal asks). The pattern is then a candidate; it is
promoted with the CLI; the host drifts the same way once more, and the heal fixes it with
the promoted L1 rule (tier l1 in heal_actions, the check passes on the host) while the
stub receives no request.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from osiris.catalog import load_catalog
from osiris.heal.flywheel import find_pattern, since_promotion
from osiris.heal.signature import drift_of
from osiris.model import Status
from osiris.shipped import shipped_dir
from osiris.site import open_site
from osiris.store import open_database
from tests.integration.test_heal import TEST_RUNBOOKS, on_host
from tests.integration.test_scan_lab import write_inventory
from tests.lab import drift
from tests.lab.hosts import LabHost
from tests.stubs.anthropic_api import TEST_KEY, AnthropicStub, tool_answer
from tests.unit.flywheel_history import GOOD_L2, Done, seed

SSH = load_catalog().get("lnx_ssh_hardening")
RUNBOOK = "linux_sshd_harden"
BUILTIN_OFF = {
    "id": "linux_ssh_hardening",
    "description": "turned off: the flywheel must learn this one",
    "checks": [SSH.id],
    "runbook": RUNBOOK,
    "enabled": False,
}
LEARNING_RUNS = 5  # the default candidate thresholds: 5 measured, >= 90%, >= 3 by L2


def configure(home: Path, stub: AnthropicStub) -> None:
    """L2 on the stub, every heal asking (no decision cache, no cooldown); the same drift
    fixed six times on one host within minutes is learning here, not flapping, and no
    reason to trip the circuit breaker."""
    config = yaml.safe_load((home / "config.yaml").read_text())
    config["l2"] = {"base_url": stub.base_url, "max_retries": 0, "cache_hours": 0, "cooldown": "1s"}
    config["heal"] = {**config.get("heal", {}), "flap_recurrences": 20, "breaker_actions": 20}
    (home / "config.yaml").write_text(yaml.safe_dump(config))
    (home / "rules").mkdir()
    (home / "rules" / "site.yaml").write_text(yaml.safe_dump({"rules": [BUILTIN_OFF]}))


def drift_again(host: LabHost) -> None:
    # undo the runbook's fix the way a person would: its drop-in outranks the drift's
    on_host(host, "rm -f /etc/ssh/sshd_config.d/40-osiris.conf")
    drift.apply(host, "ssh_root_password")
    assert "permitrootlogin yes" in on_host(host, "sshd -T")


def test_a_pattern_l2_fixes_reliably_is_promoted_and_then_healed_by_l1(
    osiris, fresh_host, lab_env, tmp_path
) -> None:
    assert osiris("init", "--site-id", "clinic-fw").returncode == 0
    home = tmp_path / "home"
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    heal = ("heal", "-i", str(inventory), "--checks", SSH.id, "--yes", "--json")
    env = {**lab_env, "ANTHROPIC_API_KEY": TEST_KEY}
    db = sqlite3.connect(home / "osiris.db")
    with AnthropicStub() as stub:
        configure(home, stub)
        for run in range(LEARNING_RUNS):
            drift_again(fresh_host)
            stub.push(tool_answer(RUNBOOK, 0.95))
            result = osiris(*heal, env=env, timeout=300)
            document = json.loads(result.stdout)
            (step,) = document["plan"]
            assert (step["tier"], step["rule"], step["runbook"]) == ("l2", None, RUNBOOK), step
            (action,) = document["actions"]
            assert (action["outcome"], action["post_status"]) == ("succeeded", "pass"), action
            assert len(stub.requests) == run + 1
        assert (
            db.execute("SELECT tier, state FROM heal_actions").fetchall()
            == [("l2", "succeeded")] * LEARNING_RUNS
        )

        facts = json.loads(db.execute("SELECT facts FROM incidents").fetchone()[0])
        signature = (
            drift_of(SSH, Status.FAIL, facts, SSH.default_thresholds())
            .with_runbook(RUNBOOK)
            .signature
        )
        (candidate,) = json.loads(osiris("patterns", "candidates", "--json").stdout)
        assert candidate["signature"] == signature
        assert (candidate["occurrences"], candidate["l2_successes"]) == (LEARNING_RUNS,) * 2
        promoted = osiris("patterns", "promote", signature)
        assert promoted.returncode == 0, promoted.stderr
        rule_id = f"promoted_{signature[:12]}"

        drift_again(fresh_host)
        stub.push(tool_answer(RUNBOOK, 0.95))  # there to be taken, were L2 asked
        result = osiris(*heal, env=env, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        document = json.loads(result.stdout)
        (step,) = document["plan"]
        assert (step["tier"], step["rule"], step["runbook"]) == ("l1", rule_id, RUNBOOK)
        (action,) = document["actions"]
        assert (action["outcome"], action["post_status"]) == ("succeeded", "pass")
        assert len(stub.requests) == LEARNING_RUNS and stub.pending == 1

    last = db.execute(
        "SELECT tier, rule_id, state, post_status FROM heal_actions ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert last == ("l1", rule_id, "succeeded", "pass")
    sshd = on_host(fresh_host, "sshd -T")
    assert "permitrootlogin without-password" in sshd and "passwordauthentication no" in sshd
    # the flywheel counted the promoted rule's own fix
    site_db = open_database(home / "osiris.db")
    pattern = find_pattern(site_db, signature)
    assert (pattern.l1_successes, pattern.l2_successes, pattern.promoted) == (1, 5, True)
    assert since_promotion(site_db, pattern).successes == 1


def test_a_promoted_rule_that_keeps_failing_is_demoted_by_heal(
    osiris, fresh_host, lab_env, tmp_path
) -> None:
    """History is seeded (a pattern L2 fixed five times, then four failures of its
    promoted rule, written the way heal writes them, with the host's own facts); the
    promoted rule runs a runbook that changes nothing (linux_test_noop, from the heal
    tests), so the heal measures a fifth failure and demotes it: 5 of 5 > 20%."""
    playbooks = tmp_path / "playbooks"
    shutil.copytree(shipped_dir("playbooks"), playbooks)
    noop = TEST_RUNBOOKS["linux_test_noop"]
    (playbooks / "linux" / "linux_test_noop.yml").write_text(yaml.safe_dump(noop))
    env = {**lab_env, "OSIRIS_PLAYBOOKS": str(playbooks)}
    assert osiris("init", "--site-id", "clinic-fw").returncode == 0
    home = tmp_path / "home"
    (home / "rules").mkdir()
    builtin_off = {
        "id": "linux_firewall",
        "description": "turned off: only a promoted rule fixes this drift here",
        "checks": ["lnx_firewall"],
        "runbook": "linux_firewall",
        "enabled": False,
    }
    (home / "rules" / "site.yaml").write_text(yaml.safe_dump({"rules": [builtin_off]}))
    drift.apply(fresh_host, "firewall_off")
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    heal = ("heal", "-i", str(inventory), "--checks", "lnx_firewall", "--json")
    # a dry run records its scan, and nothing else: the facts the host reports
    assert osiris(*heal, "--dry-run", env=env, timeout=300).returncode == 1
    db = sqlite3.connect(home / "osiris.db")
    assert db.execute("SELECT count(*) FROM incidents").fetchone() == (0,)
    (scanned,) = db.execute("SELECT facts FROM results WHERE check_id = 'lnx_firewall'")
    facts = json.loads(scanned[0])

    firewall = load_catalog().get("lnx_firewall")
    site = open_site(home)
    site_db = site.database()
    past = datetime.now(UTC) - timedelta(days=3)
    seed(
        site_db, firewall, Status.FAIL, facts, "linux_test_noop", [GOOD_L2] * 5, past, site.signer()
    )
    signature = (
        drift_of(firewall, Status.FAIL, facts, firewall.default_thresholds())
        .with_runbook("linux_test_noop")
        .signature
    )
    promoted = osiris("patterns", "promote", signature, env=env)
    assert promoted.returncode == 0, promoted.stderr
    rule_id = f"promoted_{signature[:12]}"
    failed = Done(tier="l1", state="failed", post_status="fail", rule_id=rule_id)
    seed(
        site_db,
        firewall,
        Status.FAIL,
        facts,
        "linux_test_noop",
        [failed] * 4,
        datetime.now(UTC),
        site.signer(),
    )
    assert find_pattern(site_db, signature).promoted  # 4 outcomes: too few to judge

    result = osiris(*heal, "--yes", env=env, timeout=300)
    document = json.loads(result.stdout)
    (action,) = document["actions"]
    assert (action["runbook_id"], action["outcome"], action["post_status"]) == (
        "linux_test_noop",
        "failed",
        "fail",
    )
    assert db.execute(
        "SELECT tier, rule_id FROM heal_actions WHERE host = ?", [fresh_host.name]
    ).fetchall() == [("l1", rule_id)]
    (note,) = document["demoted"]
    assert note.startswith(f"demoted rule {rule_id}: 5 of 5 fixes")
    written = yaml.safe_load((home / "rules" / "promoted.yaml").read_text())
    assert written["rules"] == []
    pattern = find_pattern(site_db, signature)
    assert pattern.demoted and not pattern.promoted
    assert db.execute(
        "SELECT event, actor FROM pattern_events WHERE signature = ? ORDER BY id", [signature]
    ).fetchall() == [("promoted", "operator"), ("demoted", "auto")]
    # the next heal has no rule for the drift any more
    again = json.loads(osiris(*heal, "--dry-run", env=env, timeout=300).stdout)
    (step,) = again["plan"]
    assert step["rule"] is None and step["decision"] != "heal"
