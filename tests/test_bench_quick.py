"""Every bench runs in its quick mode (tiny sizes), so a bench cannot rot unseen.

Each is run as a user runs it, ``python -m bench.NAME --quick``, and the test reads the
figures it prints: a bench that measured nothing (no incidents decided, no bundle
verified, no host scanned) fails here even when it exits 0. Timings are printed, never
asserted. The lab benches use the lab this test session already has up (the session
``lab`` fixture, or ``fresh_host`` for the runbooks that change their host).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.hosts import LabHost
from tests.lab.lab import LabState

REPO = Path(__file__).resolve().parent.parent


def bench(name: str, *args: str, timeout: float = 120) -> str:
    """Run ``python -m bench.NAME ARGS`` from the repository; its stdout, once it exited 0."""
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


BENCHES = sorted(
    path.stem for path in (REPO / "bench").glob("*.py") if path.stem not in ("__init__", "lab")
)


@pytest.mark.parametrize("name", BENCHES)
def test_every_bench_has_a_quick_mode(name: str) -> None:
    """A new bench comes with --quick too (and a run of it below)."""
    assert "--quick" in bench(name, "--help")


def test_bench_startup_times_every_command_against_python() -> None:
    out = bench("startup", "--quick")

    assert re.search(r"^python -c pass: \d+ ms \(best of 2\)", out, re.M), out
    for command in ("--help", "--version", "checks list --json", "runs --json"):
        assert re.search(rf"^osiris {re.escape(command)}: \d+ ms, -?\d+ ms beyond", out, re.M), out
    assert re.search(r"^goal \(.*\): (meets|misses)$", out, re.M), out


def test_bench_heal_decides_every_incident_it_built() -> None:
    out = bench("heal", "--quick")

    decided = re.search(r"^(\d+) incidents over (\d+) checks with rules", out, re.M)
    assert decided is not None, out
    assert int(decided[1]) == 60  # the quick size: every incident built was read and decided
    assert int(decided[2]) > 0
    assert "per incident:" in out


def test_bench_evidence_builds_verifies_and_proves_its_bundles() -> None:
    out = bench("evidence", "--quick")

    assert re.search(r"^scan path \(a transaction per host\): [\d,]+ bundles/s", out, re.M), out
    assert re.search(r"^== 300 bundles, 30 runs,", out, re.M), out
    assert re.search(r"^full verify: [\d.]+ s", out, re.M), out  # the bench asserts it passed
    proof = re.search(r"^inclusion proof: (\d+) hashes", out, re.M)
    assert proof is not None and int(proof[1]) == 9  # ceil(log2(300))


@pytest.mark.lab
def test_bench_scan_times_osiris_the_floor_and_ansible_on_a_lab_host(lab: LabState) -> None:
    out = bench("scan", "--quick", "--running-lab")

    row = re.search(r"^\s+1\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+$", out, re.M)
    assert row is not None, out  # one host: osiris, the floor and Ansible each ran, and passed
    assert all(float(seconds) > 0 for seconds in row.groups())


@pytest.mark.lab
def test_bench_runbooks_runs_a_runbook_with_and_without_pipelining(
    lab: LabState, fresh_host: LabHost
) -> None:
    out = bench("runbooks", "--quick", "--running-lab", "--host", fresh_host.name)

    # the bench asserts every run ended successful
    assert re.search(r"^linux_session_timeout\s+[\d.]+s\s+[\d.]+s\s+[\d.]+$", out, re.M), out


@pytest.mark.lab
def test_bench_peers_runs_lynis_and_osiris_on_a_lab_host(lab: LabState) -> None:
    out = bench("peers", "--quick", "--running-lab")

    assert re.search(r"^lynis audit system:\s+[\d.]+ s$", out, re.M), out
    assert re.search(r"^osiris scan:\s+[\d.]+ s", out, re.M), out
    covered = re.search(r"^Lynis also tests (\d+) of (\d+) osiris Linux checks$", out, re.M)
    assert covered is not None, out
    assert "(absent)" not in out  # every Lynis id the table names exists in this Lynis
