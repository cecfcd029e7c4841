"""One exit path: findings 1, bad input or environment 2 (one line), a bug 3 (one line;
the traceback only with --debug or OSIRIS_DEBUG=1), interrupted 130.

The bug is a stand-in: the real CLI runs in a subprocess, with one function of the
store replaced by one that raises, as a bug would; everything else is real.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.test_verify import osiris

BUGGY = """
import sys
import osiris.store.runs

def list_runs(db, limit):
    raise RuntimeError("a bug in listing\\nwith a second line")

osiris.store.runs.list_runs = list_runs
from osiris.cli.app import main
sys.argv = ["osiris", *sys.argv[1:]]
main()
"""


def buggy(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "OSIRIS_DEBUG"}
    environment |= {"OSIRIS_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", BUGGY, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        cwd=home.parent,
    )


def test_a_bug_exits_3_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert osiris(home, "init", "--site-id", "clinic-a").returncode == 0
    result = buggy(home, "runs")
    assert result.returncode == 3, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("osiris: internal error (a bug): RuntimeError: a bug in listing")
    assert "--debug" in line and "Traceback" not in result.stderr


def test_debug_shows_the_traceback_of_a_bug(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert osiris(home, "init", "--site-id", "clinic-a").returncode == 0
    for result in (buggy(home, "--debug", "runs"), buggy(home, "runs", env={"OSIRIS_DEBUG": "1"})):
        assert result.returncode == 3
        assert "Traceback (most recent call last)" in result.stderr
        assert "in list_runs\nRuntimeError: a bug in listing" in result.stderr


def test_an_environment_problem_is_one_line_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "no-such-dir" / "checks.md"
    result = osiris(tmp_path / "home", "checks", "docs", "--output", str(out))
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"osiris: error: {out}: No such file or directory\n"


def test_bad_input_is_one_line_exit_2_and_bad_usage_exit_2(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert osiris(home, "init", "--site-id", "clinic-a").returncode == 0
    result = osiris(home, "results", "--status", "broken")
    assert result.returncode == 2
    statuses = "pass, warning, fail, error, na"
    assert (
        result.stderr == f"osiris: error: --status: unknown status 'broken' (one of {statuses})\n"
    )
    usage = osiris(home, "runs", "--no-such-option")
    assert usage.returncode == 2 and "No such option" in usage.stderr
    assert osiris(home, "keys").returncode == 2  # a group without a command: its help


def test_no_site_is_one_line_exit_2(tmp_path: Path) -> None:
    result = osiris(tmp_path / "nowhere", "runs")
    assert result.returncode == 2
    assert result.stderr.startswith("osiris: error: ") and result.stderr.count("\n") == 1


def test_help_and_version_exit_0(tmp_path: Path) -> None:
    for args in (("--help",), ("--version",), ("verify", "--help")):
        assert osiris(tmp_path / "home", *args).returncode == 0, args
    assert "3 an unexpected error" in " ".join(osiris(tmp_path / "home", "--help").stdout.split())
