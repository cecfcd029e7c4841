"""What a runbook runs with: thresholds it follows, settings a site gives, and the errors
that name the file and field when either is wrong (osiris.heal.variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from osiris.catalog import Catalog, load_catalog
from osiris.catalog.thresholds import resolver
from osiris.errors import InputError
from osiris.heal.powershell import runbook_script, variable_lines
from osiris.heal.runbooks import RunbookRegistry, load_runbooks
from osiris.heal.variables import resolve, validate_site_vars
from tests.lab.winrm_twin.runbook_base import script_variables
from tests.unit.test_runbooks import broken_copy

PASSWORD = "linux/linux_password_policy.yml"
FOLLOWS = "follows: {osiris_min_length: lnx_password_policy.min_length}"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def registry(catalog: Catalog) -> RunbookRegistry:
    return load_runbooks(catalog)


def test_a_followed_threshold_and_a_site_setting_reach_their_runbooks(
    catalog: Catalog, registry: RunbookRegistry
) -> None:
    thresholds = resolver(
        {
            "lnx_password_policy": {"min_length": 16},
            "lnx_log_retention": {"min_days": 180},
            "win_password_policy": {"min_length": 16},
        }
    )
    site = {"linux_time_sync": {"osiris_time_servers": ["ntp1.clinic.lan"]}}
    resolved = resolve(registry, catalog, thresholds, site)
    assert resolved["linux_password_policy"] == {"osiris_min_length": 16}
    assert resolved["linux_log_retention"] == {"osiris_min_days": 180}
    assert resolved["linux_time_sync"] == {"osiris_time_servers": ["ntp1.clinic.lan"]}
    # a threshold left alone is passed at its default, which the playbook also holds
    assert resolved["linux_session_timeout"] == {"osiris_tmout": 900}
    assert (
        resolved["linux_suid_remove"]["osiris_suid_allowed"]
        == (registry.get("linux_suid_remove").variables["osiris_suid_allowed"])
    )
    assert resolved["windows_password_policy_set"] == {
        "osiris_min_length": 16,
        "osiris_min_history": 24,
    }
    assert resolved["linux_sshd_harden"] == {"osiris_max_auth_tries": 4}
    # a runbook that takes nothing from the site runs with its playbook alone
    assert "linux_file_permissions" not in resolved
    assert "windows_smb1_disable" not in resolved


@pytest.mark.parametrize(
    ("site", "field", "message"),
    [
        ({"linux_nope": {}}, "heal.runbook_vars.linux_nope", "unknown runbook id 'linux_nope'"),
        (
            {"linux_time_sync": {"osiris_time_server": ["a"]}},
            "heal.runbook_vars.linux_time_sync.osiris_time_server",
            "'linux_time_sync' has no setting 'osiris_time_server' (it has: osiris_time_servers)",
        ),
        (
            {"linux_time_sync": {"osiris_time_servers": "ntp1"}},
            "heal.runbook_vars.linux_time_sync.osiris_time_servers",
            "must be like the default [], got 'ntp1'",
        ),
        (
            {"linux_password_policy": {"osiris_min_length": 16}},
            "heal.runbook_vars.linux_password_policy.osiris_min_length",
            "it follows the threshold lnx_password_policy.min_length: set that instead",
        ),
        (
            {"linux_sshd_harden": {"osiris_anything": 1}},
            "heal.runbook_vars.linux_sshd_harden.osiris_anything",
            "has no setting 'osiris_anything' (it has: none)",
        ),
    ],
)
def test_a_wrong_site_setting_names_its_field(
    registry: RunbookRegistry, site: dict[str, Any], field: str, message: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    with pytest.raises(InputError) as caught:
        validate_site_vars(registry, site, config)
    assert (caught.value.file, caught.value.field) == (str(config), field)
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            FOLLOWS,
            "follows: {osiris_min_len: lnx_password_policy.min_length}",
            "the play sets no variable 'osiris_min_len'",
        ),
        (
            FOLLOWS,
            "follows: {osiris_min_length: lnx_password_policy.max_length}",
            "'lnx_password_policy' has no threshold 'max_length'",
        ),
        (
            FOLLOWS,
            "follows: {osiris_min_length: lnx_lockout.max_deny}",
            "'lnx_lockout' is not a check this runbook fixes",
        ),
        (
            "    osiris_min_length: 14\n",
            "    osiris_min_length: 12\n",
            "the play's default 12 is not the threshold's 14",
        ),
        (
            FOLLOWS,
            FOLLOWS + "\n      settings: [osiris_min_length]",
            "a variable that follows a threshold is not a site setting",
        ),
        (FOLLOWS, "settings: [osiris_minimum]", "the play sets no variable 'osiris_minimum'"),
    ],
)
def test_a_wrong_follows_or_settings_names_file_and_line(
    catalog: Catalog, tmp_path: Path, old: str, new: str, message: str
) -> None:
    directory, playbook = broken_copy(tmp_path, old, new, PASSWORD)
    with pytest.raises(InputError) as caught:
        load_runbooks(catalog, directory=directory)
    assert caught.value.file == str(playbook)
    assert message in caught.value.message
    assert caught.value.line is not None, str(caught.value)


def test_a_windows_runbook_gets_its_variables_as_json_it_cannot_break_out_of(
    registry: RunbookRegistry,
) -> None:
    """The values reach PowerShell inside a single-quoted string: a quote in a value is
    doubled, so it stays data (the twin reads the line back as PowerShell would)."""
    runbook = registry.get("windows_password_policy_set")
    hostile = "x'; Remove-Item C:\\ -Recurse; '"
    lines = variable_lines(runbook, {"osiris_min_length": 16, "osiris_min_history": hostile})
    assert lines[0] == "$osiris_min_length = '16' | ConvertFrom-Json"
    assert lines[1] == (
        "$osiris_min_history = '\"x''; Remove-Item C:\\\\ -Recurse; ''\"' | ConvertFrom-Json"
    )
    assert script_variables("\n".join(lines)) == {
        "osiris_min_length": 16,
        "osiris_min_history": hostile,
    }
    script = runbook_script(runbook, check_mode=True)
    assert "$OsirisCheckMode = $true\n$osiris_min_length = '14' | ConvertFrom-Json\n" in script
