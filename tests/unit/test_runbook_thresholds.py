"""A fix must be able to meet its own check: every threshold a fixed check compares is
either followed by the runbook (``follows``) or named in ``not_following`` with the
reason, and ``osiris checks lint`` refuses silence.

The broken cases copy the shipped checks/ and playbooks/ side by side into a temporary
directory (as a checkout has them) and lint that copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from osiris.catalog import default_catalog_dir, load_catalog
from osiris.errors import InputError
from osiris.heal.runbooks import default_playbooks_dir, load_runbooks
from osiris.lint import compared_thresholds, runbook_problems

CATALOG = load_catalog()


def test_every_runbook_follows_or_explains_each_threshold_its_checks_compare() -> None:
    registry = load_runbooks(CATALOG)
    assert runbook_problems(CATALOG, registry) == []
    # the walk sees what it must: a threshold compared inside any_item and in a list
    assert compared_thresholds(CATALOG.checks["lnx_ssh_crypto"]) == {"broken", "discouraged"}
    assert compared_thresholds(CATALOG.checks["win_critical_services"]) == {
        "required_services",
        "required_services_dc",
    }
    followed = {t for r in registry for t in r.spec.thresholds_followed()}
    # what issue 11 found: MaxAuthTries 4 whatever the site's max_auth_tries
    assert "lnx_ssh_hardening.max_auth_tries" in followed
    assert {"lnx_ssh_crypto.broken", "lnx_ssh_crypto.discouraged"} <= followed
    assert "lnx_lockout.min_unlock_time" in followed
    assert "win_usb_storage.autorun_off_mask" in followed


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    checks, playbooks = tmp_path / "checks", tmp_path / "playbooks"
    shutil.copytree(default_catalog_dir(), checks)
    shutil.copytree(default_playbooks_dir(), playbooks)
    return checks, playbooks


def test_lint_refuses_a_runbook_silent_on_a_threshold(osiris, tmp_path: Path) -> None:
    checks, playbooks = _copy(tmp_path)
    harden = playbooks / "linux" / "linux_sshd_harden.yml"
    text = harden.read_text()
    harden.write_text(
        text.replace(
            "      follows: {osiris_max_auth_tries: lnx_ssh_hardening.max_auth_tries}\n", ""
        )
    )
    password = playbooks / "linux" / "linux_password_policy.yml"
    text = password.read_text()
    start = text.index("      not_following:\n")
    end = text.index("\n", text.index("min_length_warning", start)) + 1
    password.write_text(text[:start] + text[end:])
    result = osiris("checks", "lint", "--dir", str(checks))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{harden}: follows: linux_sshd_harden neither follows" in result.stdout
    assert any("'lnx_ssh_hardening.max_auth_tries'" in line for line in lines)
    assert any(
        line.startswith(f"{password}:") and "'lnx_password_policy.min_length_warning'" in line
        for line in lines
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('        lnx_password_policy.min_chars: "a reason long enough"\n', "no threshold"),
        ('        lnx_lockout.max_deny: "a reason long enough"\n', "not a check this runbook"),
        ('        lnx_password_policy.min_length_warning: ""\n', "say why"),
        ('        lnx_password_policy.min_length: "a reason long enough"\n', "both followed"),
    ],
)
def test_a_wrong_not_following_names_file_and_line(
    tmp_path: Path, entry: str, message: str
) -> None:
    _, playbooks = _copy(tmp_path)
    path = playbooks / "linux" / "linux_password_policy.yml"
    text = path.read_text()
    anchor = text.index("\n", text.index("      not_following:\n")) + 1
    # the replaced entry is the only one, so an error names its line
    end = text.index("\n", anchor) + 1
    path.write_text(text[:anchor] + entry + text[end:])
    with pytest.raises(InputError) as raised:
        load_runbooks(CATALOG, playbooks)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)
    if message != "both followed":  # a model-level error names the block, not one line
        line = text[:anchor].count("\n") + 1
        assert f"{path}:{line}: not_following." in str(raised.value)
