"""`osiris runbooks list|show`: what heal can apply, and what this site runs it with."""

from __future__ import annotations

import json
from pathlib import Path

import yaml


def site_config(osiris, tmp_path: Path, **sections: object) -> Path:
    assert osiris("init").returncode == 0
    path = tmp_path / "home" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config.update(sections)
    path.write_text(yaml.safe_dump(config))
    return path


def test_list_filters_by_platform(osiris) -> None:
    listed = json.loads(osiris("runbooks", "list", "--platform", "windows", "--json").stdout)
    assert listed and all(r["platform"] == "windows" for r in listed)
    everything = json.loads(osiris("runbooks", "list", "--json").stdout)
    assert {"linux_time_sync", "windows_password_policy_set"} <= {r["id"] for r in everything}
    bad = osiris("runbooks", "list", "--platform", "macos")
    assert bad.returncode == 2 and "unknown platform 'macos'" in bad.stderr


def test_show_gives_what_this_site_runs_a_runbook_with(osiris, tmp_path: Path) -> None:
    site_config(
        osiris,
        tmp_path,
        thresholds={"win_password_policy": {"min_length": 16}},
        heal={"runbook_vars": {"linux_time_sync": {"osiris_time_servers": ["ntp1.lan"]}}},
    )
    password = json.loads(
        osiris("runbooks", "show", "windows_password_policy_set", "--json").stdout
    )
    assert password["follows"]["osiris_min_length"] == "win_password_policy.min_length"
    assert password["runs_with"] == {"osiris_min_length": 16, "osiris_min_history": 24}
    time_sync = json.loads(osiris("runbooks", "show", "linux_time_sync", "--json").stdout)
    assert time_sync["runs_with"] == {"osiris_time_servers": ["ntp1.lan"]}
    missing = osiris("runbooks", "show", "linux_nope")
    assert missing.returncode == 2 and "unknown runbook id 'linux_nope'" in missing.stderr


def test_a_wrong_runbook_setting_is_one_line_naming_the_field(osiris, tmp_path: Path) -> None:
    config = site_config(
        osiris, tmp_path, heal={"runbook_vars": {"linux_time_sync": {"osiris_ntp": ["a"]}}}
    )
    for command in (("runbooks", "show", "linux_time_sync"), ("heal", "--dry-run")):
        result = osiris(*command)
        assert result.returncode == 2, result.stdout + result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert str(config) in line
        assert "heal.runbook_vars.linux_time_sync.osiris_ntp" in line
        assert "'linux_time_sync' has no setting 'osiris_ntp'" in line
