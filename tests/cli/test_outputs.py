"""The files commands write for people (`evidence export`, `checkpoint export`, `scan
--junit`): checked before any work, an existing file replaced only with --force, and no
temporary file left behind when a command fails."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from tests.cli.test_scan_local import make_catalog
from tests.cli.test_verify import PROBES, osiris


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("outputs")
    catalog = make_catalog(root / "catalog", PROBES)
    home = root / "home"
    assert osiris(home, "init", "--site-id", "clinic-a").returncode == 0
    assert osiris(home, "scan", catalog=catalog).returncode == 1
    return home, catalog


@pytest.fixture
def site(pristine: tuple[Path, Path], tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(pristine[0], home)
    return home


def runs(home: Path) -> int:
    with sqlite3.connect(home / "osiris.db") as conn:
        return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])


def one_line(result: object, *parts: str) -> None:
    assert result.returncode == 2, result.stderr  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("osiris: error: "), lines
    for part in parts:
        assert part in lines[0], lines[0]


def entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_export_keeps_an_existing_file_unless_forced(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    kit = out / "kit.zip"
    kit.write_bytes(b"an earlier kit")
    one_line(osiris(site, "evidence", "export", str(kit)), str(kit), "--force")
    assert kit.read_bytes() == b"an earlier kit" and entries(out) == ["kit.zip"]
    forced = osiris(site, "evidence", "export", str(kit), "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["status"] == "complete"
    with zipfile.ZipFile(kit) as archive:
        assert json.loads(archive.read("manifest.json"))["envelopes"] == 1
    assert entries(out) == ["kit.zip"]


def test_checkpoint_export_keeps_an_existing_file_unless_forced(site: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept.checkpoint"
    kept.write_text("an older checkpoint\n")
    one_line(osiris(site, "checkpoint", "export", str(kept)), str(kept), "exists")
    assert kept.read_text() == "an older checkpoint\n"
    assert osiris(site, "checkpoint", "export", str(kept), "--force").returncode == 0
    assert kept.read_text().startswith("osiris.evidence/clinic-a\n1\n")
    assert entries(tmp_path) == ["home", "kept.checkpoint"]


def test_junit_is_checked_before_the_scan(
    site: Path, pristine: tuple[Path, Path], tmp_path: Path
) -> None:
    catalog = pristine[1]
    report = tmp_path / "junit.xml"
    report.write_text("<earlier/>")
    one_line(osiris(site, "scan", "--junit", str(report), catalog=catalog), str(report))
    assert report.read_text() == "<earlier/>" and runs(site) == 1  # no scan was run
    missing = tmp_path / "nowhere" / "junit.xml"
    one_line(osiris(site, "scan", "--junit", str(missing), catalog=catalog), "no directory")
    assert runs(site) == 1
    forced = osiris(site, "scan", "--junit", str(report), "--force", catalog=catalog)
    assert forced.returncode == 1, forced.stderr
    assert report.read_text().startswith("<?xml") and runs(site) == 2
    assert entries(tmp_path) == ["home", "junit.xml"]


def test_outputs_that_cannot_be_written_are_refused_before_any_work(
    site: Path, tmp_path: Path
) -> None:
    (tmp_path / "a-directory").mkdir()
    for args, problem in (
        (["evidence", "export", str(tmp_path / "nowhere" / "kit.zip")], "no directory"),
        (["evidence", "export", str(tmp_path / "a-directory")], "is a directory"),
        (["checkpoint", "export", str(tmp_path / "nowhere" / "note")], "no directory"),
    ):
        one_line(osiris(site, *args), problem)
    assert entries(tmp_path) == ["a-directory", "home"]


def test_a_failed_export_leaves_no_temporary_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert osiris(home, "init", "--site-id", "clinic-a").returncode == 0
    out = tmp_path / "out"
    out.mkdir()
    one_line(osiris(home, "evidence", "export", str(out / "kit.zip")), "no signed checkpoint")
    assert entries(out) == []
