"""Loading runbooks: the shipped ones are valid; a broken one names its file and line.

Broken cases copy the whole shipped playbooks/ tree into a temporary directory (so
checks whose `remediation` names a shipped runbook still resolve) and break one
metadata line of linux_sshd_harden.yml.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from osiris.catalog import Catalog, load_catalog
from osiris.errors import InputError
from osiris.heal.runbooks import Touch, load_runbooks
from osiris.model import Platform
from osiris.shipped import shipped_dir

EXAMPLE = "linux/linux_sshd_harden.yml"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_every_shipped_runbook_loads(catalog: Catalog) -> None:
    registry = load_runbooks(catalog)
    playbooks = shipped_dir("playbooks")
    on_disk = {p.stem for p in playbooks.glob("linux/*.yml")}
    linux = {r.id: r for r in registry if r.spec.platform is Platform.LINUX}
    assert set(linux) == on_disk, "every playbooks/linux/*.yml is a runbook"
    assert len(linux) >= 15
    for runbook in linux.values():
        assert runbook.playbook.stem == runbook.id
        assert runbook.script is None
        for check_id in runbook.spec.fixes:
            check = catalog.checks[check_id]
            assert check.platform is Platform.LINUX, f"{runbook.id} fixes {check_id}"


def test_linux_runbooks_follow_the_conventions(catalog: Catalog) -> None:
    """First play: all hosts, no fact gathering (each runbook reads what it needs);
    runbooks that can cut osiris off say so in `touches`."""
    registry = load_runbooks(catalog)
    for runbook in registry:
        if runbook.spec.platform is not Platform.LINUX:
            continue
        plays = yaml.safe_load(runbook.playbook.read_text())
        first = plays[0]
        assert first["hosts"] == "all", runbook.id
        assert first.get("gather_facts") is False, runbook.id
        text = runbook.playbook.read_text()
        assert text.startswith("# "), f"{runbook.id} needs a header comment"
        if "nft " in text:
            assert Touch.FIREWALL in runbook.spec.touches, runbook.id
        if "sshd" in text and "sshd_config.d" in text:
            assert Touch.SSH in runbook.spec.touches, runbook.id
        if "ansible.builtin.user:" in text:
            assert Touch.ACCOUNTS in runbook.spec.touches and runbook.spec.disruptive
    disruptive = {r.id for r in registry if r.spec.disruptive and r.id.startswith("linux_")}
    assert disruptive >= {
        "linux_security_updates",
        "linux_suid_remove",
        "linux_lock_inactive_accounts",
        "linux_privileged_accounts",
    }
    for runbook_id in disruptive:
        assert registry.get(runbook_id).needs_approval


@dataclass(frozen=True)
class Broken:
    """Replace ``old`` by ``new`` in the example; expect ``message`` on ``line_of``."""

    old: str
    new: str
    message: str
    line_of: tuple[str, ...] = ()  # the error's line is one of these lines (after the edit)


BROKEN = {
    "unknown check id": Broken(
        "fixes: [lnx_ssh_hardening]",
        "fixes: [lnx_no_such_check]",
        "unknown check id 'lnx_no_such_check'",
        ("fixes: [lnx_no_such_check]",),
    ),
    "a Windows check": Broken(
        "fixes: [lnx_ssh_hardening]",
        "fixes: [win_firewall]",
        "'win_firewall' is a windows check",
        ("fixes: [win_firewall]",),
    ),
    "unknown HIPAA id": Broken(
        '"164.308(a)(4)(i)"]',
        '"164.312(z)(9)"]',
        "unknown hipaa control id '164.312(z)(9)'",
        ('hipaa: ["164.312(e)(1)", "164.312(z)(9)"]',),
    ),
    "wrong id prefix": Broken(
        "id: linux_sshd_harden",
        "id: windows_sshd_harden",
        "a linux runbook id starts with 'linux_'",
        ("osiris_runbook:", "id: windows_sshd_harden"),
    ),
    "id outside the pattern": Broken(
        "id: linux_sshd_harden",
        "id: sshd_harden",
        "String should match pattern",
        ("id: sshd_harden",),
    ),
    "unknown touch": Broken(
        "touches: [ssh]", "touches: [sshd]", "Input should be 'ssh'", ("touches: [sshd]",)
    ),
    "file name and id differ": Broken(
        "id: linux_sshd_harden",
        "id: linux_sshd_hardening",
        "file name must match the id 'linux_sshd_hardening'",
    ),
    "missing vars": Broken(
        "  vars:\n    osiris_runbook:",
        "  varz:\n    osiris_runbook:",
        "a runbook's first play needs vars.osiris_runbook",
    ),
}


def broken_copy(tmp_path: Path, old: str, new: str, playbook: str = EXAMPLE) -> tuple[Path, Path]:
    """(directory for load_runbooks, the edited ``playbook`` inside it)."""
    directory = tmp_path / "playbooks"
    shutil.copytree(shipped_dir("playbooks"), directory)
    example = directory / playbook
    text = example.read_text()
    assert text.count(old) == 1, f"the example no longer holds {old!r}"
    example.write_text(text.replace(old, new))
    return directory, example


@pytest.mark.parametrize("case", BROKEN.values(), ids=list(BROKEN))
def test_broken_metadata_names_file_and_line(
    catalog: Catalog, tmp_path: Path, case: Broken
) -> None:
    directory, example = broken_copy(tmp_path, case.old, case.new)
    with pytest.raises(InputError) as caught:
        load_runbooks(catalog, directory=directory)
    error = caught.value
    assert error.file == str(example)
    assert case.message in error.message
    if case.line_of:
        lines = example.read_text().splitlines()
        expected = {lines.index(next(x for x in lines if x.strip() == s)) + 1 for s in case.line_of}
        assert error.line in expected, (error.line, expected, str(error))
        assert f"{example}:{error.line}: " in str(error)


def test_the_unbroken_copy_loads(catalog: Catalog, tmp_path: Path) -> None:
    """The broken cases fail because of their edit, not because of the copy."""
    directory, _ = broken_copy(tmp_path, "timeout: 120", "timeout: 120")
    registry = load_runbooks(catalog, directory=directory)
    assert registry.get("linux_sshd_harden").playbook.parent == directory / "linux"
    assert {r.id for r in registry} == {r.id for r in load_runbooks(catalog)}
