"""`osiris scan` of this machine by a user who is not root (``nobody``, entered with
``setpriv``; the tests run as root), against the same scan by root.

A fact that could not be read is never a pass: where the unprivileged probe saw something
other than root's, its check is ``error``, naming what it could not read. Tools in
/usr/sbin are found although that user's PATH lacks it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# facts that move between two scans a moment apart, whoever runs them
_MOVING = {"lnx_disk_space"}


def scan_as(user: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {"OSIRIS_HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/"}
    return subprocess.run(
        [*user, sys.executable, "-m", "osiris", "scan", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd="/",
    )


@pytest.fixture(scope="module")
def scans() -> Iterator[tuple[subprocess.CompletedProcess[str], dict, dict]]:
    """This machine scanned by nobody and by root: the unprivileged run, and each
    check's result in both."""
    home = Path(tempfile.mkdtemp(prefix="osiris-nobody-"))
    os.chown(home, 65534, 65534)
    try:
        unprivileged = scan_as(NOBODY, home / "nobody")
        privileged = scan_as([], home / "root")
    finally:
        shutil.rmtree(home)
    assert unprivileged.stdout, unprivileged.stderr

    def by_id(document: str) -> dict:
        return {r["check_id"]: r for r in json.loads(document)["hosts"][0]["results"]}

    yield unprivileged, by_id(unprivileged.stdout), by_id(privileged.stdout)


def test_a_scan_by_a_user_who_is_not_root_says_first_that_it_is_partial(scans) -> None:
    run, _, _ = scans
    assert run.stderr.splitlines()[0] == (
        "osiris: scanning this machine as uid 65534, not root: checks that read protected"
        " files will be error and the results partial; run as root for a full scan"
    )
    assert run.returncode == 2
    assert json.loads(run.stdout)["exit_code"] == 2


@pytest.mark.parametrize("check_id", ["lnx_privileged_accounts", "lnx_inactive_accounts"])
def test_checks_that_read_etc_shadow_could_not_decide(scans, check_id: str) -> None:
    """Before: lnx_privileged_accounts passed ("no empty passwords") without /etc/shadow,
    and lnx_inactive_accounts found no account to judge."""
    _, nobody, _ = scans
    assert nobody[check_id]["status"] == "error"
    assert nobody[check_id]["reason"].startswith("could not read /etc/shadow")


def test_nothing_passes_on_what_the_user_could_not_read(scans) -> None:
    _, nobody, root = scans
    # wherever nobody saw other facts than root, nobody's check could not decide
    seen_otherwise = {
        check_id: (result["status"], result["reason"])
        for check_id, result in nobody.items()
        if check_id not in _MOVING
        and result["status"] != "error"
        and {k: v for k, v in (result.get("facts") or {}).items()}
        != (root[check_id].get("facts") or {})
    }
    assert not seen_otherwise


def test_tools_in_sbin_are_found_without_sbin_on_the_users_path(scans) -> None:
    """Before: "required command 'sshd' is not installed" where /usr/sbin/sshd is."""
    _, nobody, root = scans
    assert Path("/usr/sbin/sshd").exists()
    for check_id in ("lnx_ssh_hardening", "lnx_ssh_crypto"):
        assert "is not installed" not in nobody[check_id]["reason"], nobody[check_id]
        assert (nobody[check_id]["status"], root[check_id]["status"]) != ("na", "error")
