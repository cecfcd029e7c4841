"""A fresh, unhardened Debian 12 host: every fail osiris reports is a right one.

The host boots from the stock base (tests/lab/base.py ``Base.STOCK``): debootstrap's
default variant (required and important packages: systemd, cron, logrotate, nftables
with an empty ruleset, ...) plus openssh-server, and nothing of osiris's. It is scanned
once with the whole catalog. ``STOCK_FAILS`` lists each fail with the reason it is
right (the CIS or HIPAA requirement the host does not meet); a fail not listed there, a
listed one that stops failing, or an ``error`` breaks the test.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from osiris.catalog import load_catalog
from osiris.model import Platform
from tests.integration.test_scan_lab import write_inventory
from tests.lab import lab as lab_control
from tests.lab.base import PACKAGES, Base
from tests.lab.hosts import LabHost, ssh_argv
from tests.lab.lab import LabState
from tests.osiris_cli import osiris_runner

# check id -> why failing is right on a stock Debian 12 server
STOCK_FAILS: dict[str, str] = {
    "lnx_firewall": (
        "nftables is installed with an empty ruleset and no firewall manager runs: nothing"
        " filters inbound traffic (CIS Controls v8 4.4, 4.5; HIPAA 164.312(e)(1))"
    ),
    "lnx_password_policy": (
        "no pam_pwquality in the password stack: pam_unix accepts any password of 6"
        " characters or more (CIS Controls v8 5.2; HIPAA 164.308(a)(5)(ii)(D))"
    ),
    "lnx_lockout": (
        "no pam_faillock in the auth stack: passwords can be guessed without limit"
        " (CIS Controls v8 4.10; HIPAA 164.312(a)(1), 164.312(d))"
    ),
    "lnx_auto_updates": (
        "unattended-upgrades is not installed: security updates wait for someone to"
        " install them (CIS Controls v8 7.3; HIPAA 164.308(a)(1)(ii)(B), 164.308(a)(5)(ii)(B))"
    ),
    "lnx_session_timeout": (
        "no TMOUT in any profile file and sshd's ClientAliveInterval is 0: an unattended"
        " session stays open forever (CIS Controls v8 4.3; HIPAA 164.312(a)(2)(iii)"
        " automatic logoff)"
    ),
    "lnx_antimalware": (
        "no anti-malware engine or EDR agent is installed (CIS Controls v8 10.1;"
        " HIPAA 164.308(a)(5)(ii)(B) protection from malicious software)"
    ),
    "lnx_backup_recency": (
        "no backup tool is configured (CIS Controls v8 11.2; HIPAA 164.308(a)(7)(ii)(A)"
        " data backup plan)"
    ),
    "lnx_file_integrity": (
        "AIDE (or any file integrity monitor) is not installed (CIS Controls v8 3.14;"
        " HIPAA 164.312(c)(1) integrity, 164.312(c)(2))"
    ),
}

# what debootstrap's default variant installs
STOCK_PRIORITIES = ("required", "important")


@pytest.fixture(scope="module")
def stock_host(lab: LabState) -> Iterator[LabHost]:
    host = lab_control.add_host("stock", profile="base", base=Base.STOCK)
    yield host
    lab_control.remove_host("stock")


@pytest.fixture(scope="module")
def stock_results(
    stock_host: LabHost, lab_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict]:
    """The whole catalog on the stock host, scanned once: each check's result by id."""
    directory = tmp_path_factory.mktemp("stock")
    inventory = write_inventory(directory, {stock_host.name: stock_host.address})
    osiris = osiris_runner(directory)
    result = osiris("scan", "-i", str(inventory), "--json", env=lab_env, timeout=300)
    assert result.stdout, result.stderr
    (host,) = json.loads(result.stdout)["hosts"]
    assert host["reached"], host["error"]
    return {r["check_id"]: r for r in host["results"]}


def test_the_host_is_stock(stock_host: LabHost) -> None:
    """Of the packages the lab's base adds for the checks, the stock host has only those
    Debian itself installs (Priority required or important), so no fail here is fixed
    by the lab; and it has openssh-server."""
    query = "dpkg-query -W -f='${Package}|${Priority}|${db:Status-Abbrev}\\n' " + " ".join(
        ["openssh-server", *PACKAGES]
    )
    listing = subprocess.run(
        ssh_argv(stock_host, query), capture_output=True, text=True, timeout=30
    ).stdout
    installed = {
        name: priority
        for name, priority, status in (line.split("|") for line in listing.splitlines())
        if status.strip() == "ii"
    }
    assert installed.pop("openssh-server", None) == "optional"
    extra = {name for name, priority in installed.items() if priority not in STOCK_PRIORITIES}
    assert not extra, f"not a stock host: {sorted(extra)} installed"
    assert {"nftables", "systemd-sysv", "cron"} <= set(installed)


def test_every_fail_is_a_listed_right_one(stock_results: dict[str, dict]) -> None:
    fails = {
        check: result["reason"]
        for check, result in stock_results.items()
        if result["status"] == "fail"
    }
    unexpected = {check: reason for check, reason in fails.items() if check not in STOCK_FAILS}
    assert not unexpected, f"new fails on a stock Debian 12 host: {unexpected}"
    assert set(fails) == set(STOCK_FAILS), f"no longer failing: {set(STOCK_FAILS) - set(fails)}"


def test_every_check_decides(stock_results: dict[str, dict]) -> None:
    """A stock host is the commonest host there is: no check may fail to read it."""
    linux = {c.id for c in load_catalog().for_platform(Platform.LINUX)}
    assert set(stock_results) == linux
    errors = {c: r["reason"] for c, r in stock_results.items() if r["status"] == "error"}
    assert not errors, errors


def test_listed_reasons_name_a_requirement() -> None:
    """Each listed fail says which CIS or HIPAA requirement makes it right."""
    for check, why in STOCK_FAILS.items():
        assert "HIPAA 164." in why and "CIS" in why, check
