"""L3 from a real lab heal: a change that cuts osiris off is rolled back by the lockout
guard, and the webhook receiver (a real HTTP server on this machine) is told."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from osiris.shipped import shipped_dir
from tests.integration.test_heal import TEST_RUNBOOKS, on_host, rule, site_with_rules
from tests.integration.test_scan_lab import write_inventory
from tests.lab import drift
from tests.notify_servers import WEBHOOK_TOKEN, webhook_receiver


def test_a_change_the_guard_rolls_back_is_told(osiris, fresh_host, lab_env, tmp_path: Path):
    playbooks = tmp_path / "playbooks"
    shutil.copytree(shipped_dir("playbooks"), playbooks)
    (playbooks / "linux" / "linux_test_cut_ssh.yml").write_text(
        yaml.safe_dump(TEST_RUNBOOKS["linux_test_cut_ssh"], sort_keys=False)
    )
    site_with_rules(
        osiris, tmp_path, [rule("lnx_firewall", "linux_test_cut_ssh")], heal={"guard_seconds": 10}
    )
    config_path = tmp_path / "home" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["escalation"] = {"webhooks": [{"name": "ops", "format": "json"}]}
    config_path.write_text(yaml.safe_dump(config))
    drift.apply(fresh_host, "firewall_accept")
    before = on_host(fresh_host, "nft list ruleset")
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    with webhook_receiver() as hook:
        env = {**lab_env, "OSIRIS_PLAYBOOKS": str(playbooks), "OSIRIS_WEBHOOK_OPS": hook.url()}
        result = osiris(
            "heal",
            "-i",
            str(inventory),
            "--checks",
            "lnx_firewall",
            "--yes",
            "--json",
            env=env,
            timeout=300,
        )
        assert WEBHOOK_TOKEN not in result.stdout + result.stderr
        (action,) = yaml.safe_load(result.stdout)["actions"]
        assert action["outcome"] == "rolled_back", action["detail"]
        assert on_host(fresh_host, "nft list ruleset") == before  # the guard put it back
        (hit,) = hook.hits
    notice = hit.json
    assert (notice["host"], notice["check_id"], notice["category"]) == (
        fresh_host.name,
        "lnx_firewall",
        "runbook_failed",
    )
    assert notice["priority"] == "P2"  # lnx_firewall is high
    assert "the guard restored it" in notice["summary"]
