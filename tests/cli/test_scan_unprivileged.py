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
