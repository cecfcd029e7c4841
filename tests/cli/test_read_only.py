"""Verify and every read-only command on an auditor's copy of a site: nothing changes.

The copy is made read-only the way an auditor would get it: files 0444 and directories
0555 (root passes permission checks, so the test also asserts that no file's bytes, mode
or mtime changed and no file appeared), then run as an unprivileged user, and on a
read-only bind mount in a private mount namespace (root only). A live, writable site is
read without any schema or row being written either.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_scan_local import make_catalog
from tests.cli.test_verify import PROBES, osiris

READ_COMMANDS = (
    ("verify",),
    ("verify", "--json"),
    ("runs",),
    ("runs", "--json"),
    ("results",),
    ("results", "--json", "--status", "fail"),
    ("incidents",),
    ("incidents", "list", "--all", "--json"),
    ("exception", "list", "--all"),
    ("approvals", "list"),
    ("escalations", "list", "--json"),
    ("l2", "log", "--json"),
    ("checks", "list"),
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readonly")
    catalog = make_catalog(root / "catalog", PROBES)
    home = root / "home"
    assert osiris(home, "init", "--site-id", "clinic-a").returncode == 0
    for _ in range(2):
        assert osiris(home, "scan", catalog=catalog).returncode == 1
    return home


@pytest.fixture
def world() -> Iterator[Path]:
    """A directory every user may enter, in the system temp directory (pytest's own
    base directory may be closed to others: 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="osiris-ro-"))
    os.chmod(directory, 0o755)  # noqa: S103 - the unprivileged user must enter it
    try:
        yield directory
    finally:
        for path in directory.rglob("*"):
            if path.is_dir():
                os.chmod(path, 0o755)  # noqa: S103 - writable again, to remove it
        shutil.rmtree(directory)


def snapshot(directory: Path) -> dict[str, tuple[int, int, str]]:
    """Every entry under ``directory``: mode, mtime and (for files) a digest of its bytes."""
    entries = {}
    for path in sorted([directory, *directory.rglob("*")]):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        entries[str(path.relative_to(directory))] = (info.st_mode, info.st_mtime_ns, digest)
    return entries


def make_read_only(directory: Path) -> None:
    for path in [*directory.rglob("*"), directory]:
        os.chmod(path, 0o555 if path.is_dir() else 0o444)


def auditor_copy(pristine: Path, where: Path) -> Path:
    home = where / "site"
    shutil.copytree(pristine, home)
    make_read_only(home)
    return home


def run_all(home: Path, run: object, out: Path) -> None:
    for args in READ_COMMANDS:
        result = run(home, *args)  # type: ignore[operator]
        assert result.returncode in (0, 1), (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
    verified = run(home, "verify", "--json")  # type: ignore[operator]
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"], verified.stdout
    kit = out / "kit.zip"
    exported = run(home, "evidence", "export", str(kit), "--json")  # type: ignore[operator]
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["envelopes"] == 2 and kit.stat().st_size > 0


def as_nobody(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OSIRIS_CATALOG",)}
    env |= {"OSIRIS_HOME": str(home), "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
         sys.executable, "-m", "osiris", *args],
        capture_output=True, text=True, env=env, timeout=120, cwd="/",
    )  # fmt: skip


def test_every_read_command_on_a_read_only_copy_writes_nothing(pristine: Path, world: Path) -> None:
    home = auditor_copy(pristine, world)
    before = snapshot(home)
    out = world / "out"
    out.mkdir()
    run_all(home, osiris, out)
    assert snapshot(home) == before


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
def test_an_unprivileged_user_reads_a_read_only_copy(pristine: Path, world: Path) -> None:
    home = auditor_copy(pristine, world)
    before = snapshot(home)
    out = world / "out"
    out.mkdir()
    os.chmod(out, 0o777)  # noqa: S103 - the unprivileged user writes the kit here
    run_all(home, as_nobody, out)
    assert snapshot(home) == before


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root")
def test_a_read_only_mount_is_read_without_a_write(pristine: Path, world: Path) -> None:
    home = world / "site"
    shutil.copytree(pristine, home)  # writable files: only the mount is read-only
    before = snapshot(home)
    out = world / "out"
    out.mkdir()

    def mounted(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
        # a private mount namespace: the read-only bind mount goes when the command ends
        script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
        env = {**os.environ, "OSIRIS_HOME": str(home)}
        env.pop("OSIRIS_CATALOG", None)
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             str(home), sys.executable, "-m", "osiris", *args],
            capture_output=True, text=True, env=env, timeout=120, cwd="/",
        )  # fmt: skip

    probe = mounted(home, "checks", "list")
    assert probe.returncode == 0, probe.stderr
    run_all(home, mounted, out)
    assert snapshot(home) == before


def test_a_copy_holding_an_unfolded_write_ahead_log_is_read_whole(
    pristine: Path, world: Path
) -> None:
    """A copy taken while a writer had the database open: the edit sits in osiris.db-wal,
    which an `immutable` reader would not see. Verify reads it and finds the edit."""
    live = world / "live"
    shutil.copytree(pristine, live)
    conn = sqlite3.connect(live / "osiris.db", isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("UPDATE results SET reason = 'edited' WHERE run_id = 1 AND check_id = 'lnx_a'")
    home = world / "site"
    shutil.copytree(live, home)  # while the writer still holds it: the -wal comes along
    conn.close()
    assert (home / "osiris.db-wal").stat().st_size > 0
    make_read_only(home)
    before = snapshot(home)
    result = osiris(home, "verify", "--json")
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["failed"] == ["results_match"]
    assert snapshot(home) == before


def test_a_live_site_is_read_without_a_schema_or_row_written(pristine: Path, world: Path) -> None:
    home = world / "site"
    shutil.copytree(pristine, home)
    with sqlite3.connect(home / "osiris.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = (home / "osiris.db").read_bytes()
    for args in READ_COMMANDS:
        assert osiris(home, *args).returncode in (0, 1), args
    assert (home / "osiris.db").read_bytes() == before
    wal = home / "osiris.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
