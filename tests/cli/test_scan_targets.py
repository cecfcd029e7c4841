"""`osiris scan` with hosts as Ansible users give them: a relative `-i hosts.ini`, a
host list `-i 'a,b,'`, hosts as arguments; and a port that answers TCP but not SSH.

The "not SSH" servers are real TCP listeners on loopback (tests/tcp_servers.py); see
tests/integration/test_scan_lab.py for the same syntax against real SSH hosts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_scan_local import make_catalog
from tests.tcp_servers import NOT_SSH, serving


@pytest.fixture(params=sorted(NOT_SSH))
def not_ssh(request: pytest.FixtureRequest) -> Iterator[int]:
    with serving(NOT_SSH[request.param]) as port:
        yield port


def test_a_port_that_speaks_no_ssh_is_one_clear_host_error(osiris, not_ssh: int) -> None:
    """Before: a paramiko traceback on stderr ("Exception (client): Error reading SSH
    protocol banner"), and the host's error in paramiko's words, one of several."""
    result = osiris("scan", "--json", "--timeout", "3", f"root@127.0.0.1:{not_ssh}")
    assert result.returncode == 2
    (host,) = json.loads(result.stdout)["hosts"]
    assert host["error"] == f"protocol: no SSH banner from 127.0.0.1:{not_ssh}"
    assert {r["status"] for r in host["results"]} == {"error"}
    assert result.stderr == ""
    wide = {"COLUMNS": "200"}  # the table's note column on one line
    human = osiris("scan", "--timeout", "3", f"root@127.0.0.1:{not_ssh}", env=wide)
    assert human.returncode == 2 and "Traceback" not in human.stderr + human.stdout
    assert f"no SSH banner from 127.0.0.1:{not_ssh}" in human.stdout


def test_a_host_list_and_hosts_as_arguments_need_no_inventory_file(osiris) -> None:
    """Before: "inventory not found" for `-i 'a,b,'`, and no way to name a host."""
    with serving(NOT_SSH["http"]) as first, serving(NOT_SSH["http"]) as second:
        listed = osiris("scan", "--json", "-i", f"127.0.0.1:{first},localhost:{second},")
        named = osiris("scan", "--json", f"127.0.0.1:{first}", f"admin@localhost:{second}")
    for result in (listed, named):
        assert result.returncode == 2, result.stderr
        hosts = {h["name"]: h for h in json.loads(result.stdout)["hosts"]}
        assert set(hosts) == {"127.0.0.1", "localhost"}
        assert hosts["localhost"]["error"] == f"protocol: no SSH banner from localhost:{second}"
    runs = json.loads(osiris("runs", "--json").stdout)
    assert [r["status"] for r in runs] == ["complete", "complete"]


def test_hosts_as_arguments_and_an_inventory_are_refused_together(osiris, tmp_path) -> None:
    (tmp_path / "hosts.ini").write_text("[web]\nweb1\n")
    result = osiris("scan", "-i", "hosts.ini", "root@web2")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "osiris: error: give hosts as arguments or with -i, not both (--limit chooses"
        " inventory hosts)"
    ]
    assert not (tmp_path / "home").exists()


def test_a_relative_inventory_path_scans(osiris, tmp_path: Path) -> None:
    """Before: "hosts.ini: invalid INI inventory: The `src` field must be an absolute
    path". The runner's working directory is tmp_path."""
    catalog = make_catalog(tmp_path / "catalog", {"lnx_a": 'echo \'{"state": "good"}\''})
    (tmp_path / "hosts.ini").write_text("[here]\nthis-machine ansible_connection=local\n")
    result = osiris("scan", "--json", "-i", "hosts.ini", env={"OSIRIS_CATALOG": str(catalog)})
    assert result.returncode == 0, result.stderr
    (host,) = json.loads(result.stdout)["hosts"]
    assert (host["name"], host["reached"]) == ("this-machine", True)
    assert [(r["check_id"], r["status"]) for r in host["results"]] == [("lnx_a", "pass")]


def test_the_help_shows_how_to_write_a_target(osiris) -> None:
    """Before: rich read '[user@]' in the help as a markup tag and dropped it."""
    result = osiris("scan", "--help", env={"COLUMNS": "200"})
    assert "as user@host:port (user and port optional)" in result.stdout
