"""The example inventories a technician copies (inventories/) load as they are, YAML and
INI alike, with their group_vars, and keep secrets out of the files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "inventories"
PASSWORD_ENV = {"PRACTICE_WINRM_PASSWORD": "not-a-real-password"}
EXPECTED = {
    # name: (connection, platform, role, port)
    "ehr-db": ("ssh", "linux", "server", None),
    "backup-nas": ("ssh", "linux", "server", 2222),
    "dc1": ("winrm", "windows", "domain_controller", 5986),
    "fileserver": ("winrm", "windows", "server", 5986),
    "front-desk": ("winrm", "windows", "workstation", 5986),
    "exam-room-1": ("winrm", "windows", "workstation", 5986),
}


@pytest.mark.parametrize("name", ["practice.yml", "practice.ini"])
def test_each_example_inventory_lists_its_hosts(osiris, name: str) -> None:
    result = osiris("inventory", "list", "-i", str(EXAMPLES / name), "--json", env=PASSWORD_ENV)
    assert result.returncode == 0, result.stderr
    hosts = {h["name"]: h for h in json.loads(result.stdout)}
    assert {
        name: (h["connection"], h["platform"], h["role"], h["port"]) for name, h in hosts.items()
    } == EXPECTED
    assert hosts["dc1"]["user"] == "PRACTICE\\osiris-scan"
    assert "not-a-real-password" not in result.stdout + result.stderr


def test_a_missing_password_variable_is_one_line_naming_it(osiris) -> None:
    result = osiris("inventory", "list", "-i", str(EXAMPLES / "practice.yml"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "PRACTICE_WINRM_PASSWORD is not set" in result.stderr


def test_no_example_holds_a_secret() -> None:
    for path in EXAMPLES.rglob("*"):
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            code = line.split("#", 1)[0]
            if "password" in code and ":" in code:
                assert "lookup('env'" in code, f"{path}: {line}"
