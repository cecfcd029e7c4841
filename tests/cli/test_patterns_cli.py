"""`osiris patterns list|candidates|promote|demote` on a site with a real heal history."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import yaml

from osiris.catalog import load_catalog
from osiris.heal.signature import drift_of
from osiris.model import Status
from osiris.site import open_site
from tests.unit.flywheel_history import BAD_L2, GOOD_L2, seed
from tests.unit.test_flywheel import ROOT_PASSWORD, RUNBOOK

SSH = load_catalog().get("lnx_ssh_hardening")
SIGNATURE = (
    drift_of(SSH, Status.FAIL, ROOT_PASSWORD, SSH.default_thresholds())
    .with_runbook(RUNBOOK)
    .signature
)


def seeded_site(osiris, tmp_path: Path, history) -> Path:
    assert osiris("init", "--site-id", "clinic-fw").returncode == 0
    home = tmp_path / "home"
    site = open_site(home)
    db = site.database()
    seed(db, SSH, Status.FAIL, ROOT_PASSWORD, RUNBOOK, history, datetime.now(UTC), site.signer())
    db.close()
    return home


def test_list_candidates_promote_demote(osiris, tmp_path: Path) -> None:
    home = seeded_site(osiris, tmp_path, [GOOD_L2] * 9 + [BAD_L2])
    listed = osiris("patterns", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (pattern,) = json.loads(listed.stdout)
    assert pattern["signature"] == SIGNATURE
    assert (pattern["occurrences"], pattern["l2_successes"], pattern["l2_failures"]) == (10, 9, 1)
    assert (pattern["success_rate"], pattern["state"]) == (0.9, "candidate")
    assert pattern["facts"] == ["password_authentication", "permit_root_login"]
    table = osiris("patterns", "candidates")
    assert SIGNATURE[:12] in table.stdout and "90%" in table.stdout

    promoted = osiris("patterns", "promote", SIGNATURE[:8])
    assert promoted.returncode == 0, promoted.stderr
    rule_id = f"promoted_{SIGNATURE[:12]}"
    assert rule_id in promoted.stdout
    (rule,) = yaml.safe_load((home / "rules" / "promoted.yaml").read_text())["rules"]
    assert (rule["id"], rule["runbook"], rule["checks"]) == (rule_id, RUNBOOK, [SSH.id])
    (after,) = json.loads(osiris("patterns", "list", "--json").stdout)
    assert (after["state"], after["promoted_rule_id"]) == ("promoted", rule_id)
    assert json.loads(osiris("patterns", "candidates", "--json").stdout) == []
    # promoted once: a second promote says so and changes nothing
    again = osiris("patterns", "promote", SIGNATURE)
    assert again.returncode == 2
    assert again.stderr == (
        f"osiris: error: pattern {SIGNATURE} is already promoted as rule {rule_id}\n"
    )

    demoted = osiris("patterns", "demote", SIGNATURE, "--reason", "vendor needs root passwords")
    assert demoted.returncode == 0, demoted.stderr
    assert f"rule {rule_id} removed" in demoted.stdout
    assert yaml.safe_load((home / "rules" / "promoted.yaml").read_text())["rules"] == []
    (last,) = json.loads(osiris("patterns", "list", "--json").stdout)
    assert (last["state"], last["demoted_reason"]) == ("demoted", "vendor needs root passwords")


def test_promoting_a_pattern_that_has_not_earned_it_is_refused(osiris, tmp_path: Path) -> None:
    home = seeded_site(osiris, tmp_path, [GOOD_L2] * 8 + [BAD_L2] * 2)
    refused = osiris("patterns", "promote", SIGNATURE)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"osiris: error: pattern {SIGNATURE} is not a candidate")
    assert "80% good of 90%" in refused.stderr and refused.stderr.count("\n") == 1
    assert not (home / "rules" / "promoted.yaml").exists()
    forced = osiris("patterns", "promote", SIGNATURE, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (home / "rules" / "promoted.yaml").exists()


def test_unknown_patterns_and_broken_files_are_one_line_errors(osiris, tmp_path: Path) -> None:
    home = seeded_site(osiris, tmp_path, [GOOD_L2] * 5)
    unknown = osiris("patterns", "promote", "ffffffff")
    assert (unknown.returncode, unknown.stderr) == (
        2,
        "osiris: error: no pattern ffffffff (see `osiris patterns list`)\n",
    )
    (home / "rules").mkdir()
    (home / "rules" / "promoted.yaml").write_text("rules: {oops: 1}\n")
    broken = osiris("patterns", "demote", SIGNATURE)
    assert broken.returncode == 2
    assert broken.stderr == (
        f"osiris: error: {home / 'rules' / 'promoted.yaml'}:1: expected a mapping with a list"
        " 'rules'\n"
    )
    (unchanged,) = json.loads(osiris("patterns", "list", "--json").stdout)
    assert unchanged["state"] == "candidate"
