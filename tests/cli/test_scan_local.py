"""`osiris scan` of this machine, through the real CLI in a subprocess."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from osiris.catalog import load_catalog
from osiris.model import Platform


def make_catalog(directory: Path, probes: dict[str, str]) -> Path:
    """A catalog of trivial checks whose probes print the given sh."""
    directory.mkdir(parents=True, exist_ok=True)
    for check_id, script in probes.items():
        check = {
            "id": check_id,
            "title": "A test check",
            "description": "A check written by a test.",
            "platform": "linux",
            "severity": "low",
            "probe": {"context": "test", "script": script},
            "facts": {"state": {"type": "string"}},
            "evaluate": [
                {
                    "id": "bad",
                    "status": "fail",
                    "when": {"fact": "state", "eq": "bad"},
                    "reason": "bad",
                },
                {
                    "id": "meh",
                    "status": "warning",
                    "when": {"fact": "state", "eq": "meh"},
                    "reason": "meh",
                },
                {"id": "fine", "status": "pass", "reason": "fine"},
            ],
            "references": {"hipaa": ["164.312(b)"]},
        }
        (directory / f"{check_id}.yaml").write_text(yaml.safe_dump(check))
    return directory


def db_rows(home: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(home / "osiris.db") as conn:
        return conn.execute(sql).fetchall()


def test_first_scan_initialises_a_site_and_records_every_linux_check(osiris, tmp_path: Path):
    result = osiris("scan", "--json", "--junit", str(tmp_path / "junit.xml"))
    assert result.returncode in (0, 1, 2), result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "osiris.scan/v1"
    assert document["exit_code"] == result.returncode
    (host,) = document["hosts"]
    linux_ids = {c.id for c in load_catalog().for_platform(Platform.LINUX)}
    assert {r["check_id"] for r in host["results"]} == linux_ids
    home = tmp_path / "home"
    rows = db_rows(home, "SELECT check_id, status FROM results WHERE run_id = 1")
    assert dict(rows) == {r["check_id"]: r["status"] for r in host["results"]}
    assert db_rows(home, "SELECT status FROM runs") == [("complete",)]
    cases = ET.parse(tmp_path / "junit.xml").getroot().findall(".//testcase")
    assert len(cases) == len(linux_ids)


def test_exit_codes_follow_the_worst_status(osiris, tmp_path: Path) -> None:
    ok = {"lnx_a": 'echo \'{"state": "good"}\''}
    cases = {
        0: ok,
        1: {**ok, "lnx_b": 'echo \'{"state": "meh"}\''},
        2: {**ok, "lnx_c": "echo 'not json'"},
    }
    for expected, probes in cases.items():
        catalog = make_catalog(tmp_path / f"catalog{expected}", probes)
        result = osiris("scan", env={"OSIRIS_CATALOG": str(catalog)})
        assert result.returncode == expected, result.stdout + result.stderr


def test_bad_inventory_writes_nothing(osiris, tmp_path: Path) -> None:
    inventory = tmp_path / "bad.yml"
    inventory.write_text("all:\n  hosts:\n    x: {ansible_connection: telnet}\n")
    result = osiris("scan", "-i", str(inventory))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"osiris: error: {inventory}: ansible_connection: host x: unknown connection type"
        " 'telnet' (one of local, paramiko, paramiko_ssh, psrp, smart, ssh, winrm)"
    ]
    assert not (tmp_path / "home").exists()


def test_bad_threshold_override_names_config_field(osiris, tmp_path: Path) -> None:
    assert osiris("init").returncode == 0
    config = tmp_path / "home" / "config.yaml"
    config.write_text(config.read_text() + "thresholds:\n  lnx_lockout: {max_deny: many}\n")
    result = osiris("scan")
    assert result.returncode == 2
    assert result.stderr.startswith(f"osiris: error: {config}: thresholds.lnx_lockout.max_deny:")
    assert db_rows(tmp_path / "home", "SELECT count(*) FROM runs") == [(0,)]


def test_unknown_config_key_is_refused(osiris, tmp_path: Path) -> None:
    assert osiris("init").returncode == 0
    config = tmp_path / "home" / "config.yaml"
    config.write_text(config.read_text() + "scna: {forks: 2}\n")
    result = osiris("scan")
    assert result.returncode == 2
    assert f"{config}:" in result.stderr and "scna" in result.stderr


def start_slow_scan(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    catalog = make_catalog(
        tmp_path / "slow",
        {"lnx_quick": 'echo \'{"state": "good"}\'', "lnx_slow": "sleep 60; echo '{}'"},
    )
    home = tmp_path / "home"
    env = {"OSIRIS_HOME": str(home), "OSIRIS_CATALOG": str(catalog), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [sys.executable, "-m", "osiris", "scan"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (home / "osiris.db").exists() and db_rows(home, "SELECT id FROM runs"):
            return process, home
        time.sleep(0.1)
    process.kill()
    raise AssertionError("scan never started")


def test_ctrl_c_marks_the_run_interrupted(tmp_path: Path) -> None:
    process, home = start_slow_scan(tmp_path)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert db_rows(home, "SELECT status, finished_at IS NOT NULL FROM runs") == [("interrupted", 1)]
    assert db_rows(home, "PRAGMA integrity_check") == [("ok",)]


def test_kill_9_is_reconciled_by_the_next_scan(osiris, tmp_path: Path) -> None:
    process, home = start_slow_scan(tmp_path)
    process.kill()
    process.wait()
    assert db_rows(home, "SELECT status FROM runs") == [("running",)]
    assert osiris("scan", "--checks", "lnx_disk_space").returncode in (0, 1)
    assert db_rows(home, "SELECT id, status FROM runs ORDER BY id") == [
        (1, "interrupted"),
        (2, "complete"),
    ]


def test_runs_and_results_commands(osiris, tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path / "c", {"lnx_a": 'echo \'{"state": "bad"}\''})
    assert osiris("scan", env={"OSIRIS_CATALOG": str(catalog)}).returncode == 1
    runs = json.loads(osiris("runs", "--json").stdout)
    assert runs[0]["counts"]["fail"] == 1 and runs[0]["status"] == "complete"
    failing = json.loads(osiris("results", "--status", "fail", "--json").stdout)
    assert [(r["check_id"], r["reason"]) for r in failing] == [("lnx_a", "bad")]
    bad = osiris("results", "--status", "broken")
    assert bad.returncode == 2 and "unknown status 'broken'" in bad.stderr


def test_filters_select_checks_by_id_tag_and_framework(osiris) -> None:
    catalog = load_catalog()
    by_tag = {c.id for c in catalog.for_platform(Platform.LINUX) if "ssh" in c.spec.tags}
    result = osiris("scan", "--tags", "ssh", "--json")
    assert {r["check_id"] for r in json.loads(result.stdout)["hosts"][0]["results"]} == by_tag
    soc2 = {c.id for c in catalog.for_platform(Platform.LINUX) if c.spec.references.soc2}
    result = osiris("scan", "--framework", "soc2", "--json")
    assert {r["check_id"] for r in json.loads(result.stdout)["hosts"][0]["results"]} == soc2
    assert soc2 != {c.id for c in catalog.for_platform(Platform.LINUX)}
    bad = osiris("scan", "--framework", "iso27001")
    assert bad.returncode == 2 and "unknown framework 'iso27001'" in bad.stderr
    nothing = osiris("scan", "--limit", "no-such-host")
    assert nothing.returncode == 2 and "matches no host" in nothing.stderr


def test_bad_check_file_is_one_line_and_writes_nothing(osiris, tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path / "bad", {"lnx_a": 'echo \'{"state": "good"}\''})
    path = catalog / "lnx_a.yaml"
    path.write_text(path.read_text().replace("severity: low", "severity: urgent"))
    result = osiris("scan", env={"OSIRIS_CATALOG": str(catalog)})
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"osiris: error: {path}:") and "severity: Input should be" in line
    assert not (tmp_path / "home").exists()
