"""ComplianceAsCode's rule test scenarios, replayed as states of real lab hosts.

Each scenario (tests/integration/cac/) sets up on a clean lab host the state one of
CaC's ``*.pass.sh`` / ``*.fail.sh`` scenarios sets up, and asserts osiris's status
there; where that differs from CaC's verdict, docs/cac-differences.md says why (a test
here holds the two together). Scenarios that touch other files and checks share a round:
the host's files are restored from the clean copy, each scenario's script runs, and one
scan answers them all. The rounds are spread over ``HOSTS`` hosts side by side.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from osiris.catalog import load_catalog
from osiris.model import Platform
from tests.integration.cac import (
    CAC_RULES,
    PRELUDE,
    Scenario,
    accounts,
    restore_baseline,
    save_baseline,
    session,
    ssh,
    system,
)
from tests.integration.test_scan_lab import write_inventory
from tests.lab import lab as lab_control
from tests.lab.hosts import LabHost, ssh_argv
from tests.lab.lab import LabState
from tests.osiris_cli import osiris_runner

SCENARIOS: list[Scenario] = [
    *ssh.SCENARIOS,
    *session.SCENARIOS,
    *accounts.SCENARIOS,
    *system.SCENARIOS,
]
HOSTS = 2
DIFFERENCES = Path(__file__).resolve().parents[2] / "docs" / "cac-differences.md"
Outcome = tuple[str, str]  # (status, reason)


def rounds(scenarios: list[Scenario]) -> list[list[Scenario]]:
    """Scenarios packed in order into rounds that share no files and no check."""
    packed: list[list[Scenario]] = []
    for case in scenarios:
        for batch in packed:
            if all(case.groups.isdisjoint(s.groups) and case.check != s.check for s in batch):
                batch.append(case)
                break
        else:
            packed.append([case])
    return packed


def round_script(batch: list[Scenario]) -> str:
    """Restore the clean files, then set up each scenario (a failed setup names it)."""
    parts = [
        f"cat > /tmp/cac-prelude.sh <<'CAC_EOF'\n{PRELUDE.strip()}\nCAC_EOF",
        "set -e",
        restore_baseline(),
    ]
    for case in batch:
        parts += [
            f"cat > /tmp/cac-case.sh <<'CAC_EOF'\n. /tmp/cac-prelude.sh\n{case.script}\nCAC_EOF",
            f"sh -e /tmp/cac-case.sh || {{ echo 'cannot set up {case.name}' >&2; exit 1; }}",
        ]
    return "\n".join(parts) + "\n"


def _ssh(host: LabHost, script: str) -> None:
    result = subprocess.run(
        ssh_argv(host, "sh", "-s"), input=script, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


def run_rounds(
    index: int, batches: list[list[Scenario]], env: dict[str, str], directory: Path
) -> dict[str, Outcome]:
    """Boot one clean host, run ``batches`` on it, and give each scenario's outcome."""
    name = f"cac{index}"
    host = lab_control.add_host(name, profile="clean")
    outcomes: dict[str, Outcome] = {}
    try:
        _ssh(host, save_baseline())
        inventory = write_inventory(directory, {name: host.address})
        osiris = osiris_runner(directory)
        for batch in batches:
            _ssh(host, round_script(batch))
            checks = ",".join(sorted({case.check for case in batch}))
            result = osiris(
                "scan", "-i", str(inventory), "--checks", checks, "--json", env=env, timeout=300
            )
            assert result.stdout, result.stderr
            found = {r["check_id"]: r for r in json.loads(result.stdout)["hosts"][0]["results"]}
            for case in batch:
                outcomes[case.name] = (found[case.check]["status"], found[case.check]["reason"])
    finally:
        lab_control.remove_host(name)
    return outcomes


@pytest.fixture(scope="module")
def outcomes(
    lab: LabState, lab_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Outcome]]:
    plan = rounds(SCENARIOS)
    with ThreadPoolExecutor(max_workers=HOSTS, thread_name_prefix="cac-host") as pool:
        parts = [
            pool.submit(run_rounds, k, plan[k::HOSTS], lab_env, tmp_path_factory.mktemp(f"cac{k}"))
            for k in range(HOSTS)
        ]
        merged: dict[str, Outcome] = {}
        for part in parts:
            merged |= part.result(timeout=900)
    yield merged


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            id=case.name,
            marks=[pytest.mark.xfail(strict=True, reason=case.pending)] if case.pending else [],
        )
        for case in SCENARIOS
    ],
)
def test_osiris_in_the_state_of_a_cac_scenario(
    outcomes: dict[str, Outcome], case: Scenario
) -> None:
    status, reason = outcomes[case.name]
    assert status == case.expect, f"{case.cac} ({case.check}): {status}: {reason}"


def difference_sections() -> set[str]:
    """The keys of docs/cac-differences.md's sections (``### `key`: ...``)."""
    return set(re.findall(r"^### `([a-z0-9-]+)`", DIFFERENCES.read_text(), re.MULTILINE))


def test_every_difference_is_written_down() -> None:
    """A scenario whose status is not CaC's verdict names the section saying why; one
    that agrees names none; and no section is left that no scenario needs."""
    sections = difference_sections()
    for case in SCENARIOS:
        if case.agrees:
            assert not case.differs, f"{case.name} agrees with CaC: drop differs"
        else:
            assert case.differs in sections, f"{case.name}: {case.expect} vs CaC {case.cac}"
    used = {case.differs for case in SCENARIOS if case.differs}
    assert sections == used, f"sections no scenario needs: {sections - used}"


def test_scenarios_name_real_checks_and_rules() -> None:
    linux = {c.id for c in load_catalog().for_platform(Platform.LINUX)}
    assert set(CAC_RULES) == linux, "map every Linux check to its CaC rules (or none)"
    assert len({case.name for case in SCENARIOS}) == len(SCENARIOS)
    for case in SCENARIOS:
        assert case.rule in CAC_RULES[case.check], f"{case.name}: {case.rule} is not mapped"
        assert case.cac_verdict in ("pass", "fail"), case.cac
        assert case.expect in ("pass", "warning", "fail", "error", "na"), case.name
    text = DIFFERENCES.read_text()
    for check, rules in CAC_RULES.items():
        assert f"`{check}`" in text, f"docs/cac-differences.md does not map {check}"
        for rule in rules:
            assert f"`{rule}`" in text, f"docs/cac-differences.md does not name {rule}"


def test_rounds_share_no_files_and_no_check() -> None:
    plan = rounds(SCENARIOS)
    assert sorted(s.name for batch in plan for s in batch) == sorted(s.name for s in SCENARIOS)
    for batch in plan:
        for i, case in enumerate(batch):
            for other in batch[i + 1 :]:
                assert case.groups.isdisjoint(other.groups) and case.check != other.check
