"""Every Linux check, driven into each status it can report, on real lab hosts.

``CASES`` lists, for each Linux check of the catalog, the drifts (tests/lab/drift.py)
that put a clean host into each status. Round k boots one fresh host, applies the k-th
case of every check at once (each check's drifts touch only its own files), scans it
once and asserts every check's status. A Linux check without a pass and a fail case
fails the test, so no check can lack one.

Three checks judge what a container does not have (its own disks, clock and kernel
audit, ``CONTAINER_BOUND``): on the systemd (container) hosts they are ``na``. Their other
statuses are shown on VM hosts (tests/lab/vm.py: qemu, a kernel of their own, root on
LUKS or not, chrony synchronised to a chronyd on this machine), by ``VM_CASES``.
lnx_usb_storage is na in a container, which does not see its kernel's module tree; its
fail is shown with a stand-in tree (drift usb_module_tree).

``USED_TO_BE_WRONG`` shows, on one shared host, each state a check once judged wrongly
(issue 11): a typeset TMOUT, a journald-only host, Debian 12's polkit helper, a clamd in
a container on the host, the reasons people read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import zip_longest
from pathlib import Path

import pytest
import yaml

from osiris.catalog import load_catalog
from osiris.model import Platform
from tests.integration.test_scan_lab import write_inventory
from tests.lab import drift
from tests.lab import lab as lab_control
from tests.lab.hosts import Kind, LabHost
from tests.lab.lab import LabState
from tests.osiris_cli import Runner, osiris_runner

Case = tuple[str, tuple[str, ...]]

CASES: dict[str, list[Case]] = {
    "lnx_ssh_hardening": [
        ("pass", ()),
        ("fail", ("ssh_root_password",)),
        ("warning", ("ssh_max_tries_10",)),
        ("na", ("ssh_by_dropbear",)),
    ],
    "lnx_ssh_crypto": [
        ("pass", ()),
        ("fail", ("ssh_crypto_cbc",)),
        ("warning", ("ssh_crypto_default",)),
        ("na", ("ssh_by_dropbear",)),
    ],
    "lnx_firewall": [("pass", ()), ("fail", ("firewall_off",)), ("warning", ("firewall_accept",))],
    "lnx_file_permissions": [
        ("pass", ()),
        ("fail", ("shadow_world_readable",)),
        ("warning", ("sshd_config_readable",)),
    ],
    "lnx_privileged_accounts": [
        ("pass", ()),
        ("fail", ("uid0_extra",)),
        ("warning", ("sudo_nopasswd",)),
        ("fail", ("empty_password",)),
    ],
    "lnx_admin_accounts": [("pass", ()), ("warning", ("admin_unapproved",))],
    "lnx_password_policy": [
        ("pass", ()),
        ("fail", ("pwquality_8",)),
        ("warning", ("pwquality_12",)),
        ("fail", ("pwquality_off",)),
    ],
    "lnx_lockout": [("pass", ()), ("fail", ("lockout_off",)), ("warning", ("lockout_deny_8",))],
    "lnx_auto_updates": [
        ("pass", ()),
        ("fail", ("auto_updates_off",)),
        ("warning", ("auto_updates_no_lists",)),
        ("fail", ("auto_updates_removed",)),
        ("na", ("apt_tools_removed",)),
    ],
    # a container sees no module tree: without a rule of its own, na
    "lnx_usb_storage": [
        ("pass", ()),
        ("na", ("usb_allowed",)),
        ("warning", ("usb_blacklist_only",)),
        ("fail", ("usb_module_tree", "usb_allowed")),
    ],
    "lnx_disk_space": [("pass", ())],
    "lnx_session_timeout": [
        ("pass", ()),
        ("fail", ("session_timeout_off",)),
        ("warning", ("session_timeout_long",)),
    ],
    "lnx_log_retention": [
        ("pass", ()),
        ("fail", ("log_retention_14",)),
        ("warning", ("log_retention_35",)),
        ("pass", ("log_retention_14", "log_forwarded")),
        ("fail", ("journal_only", "journal_volatile")),
    ],
    # na in the same round as lnx_cert_expiry's: both need openssl until it is removed
    "lnx_tls_policy": [
        ("pass", ()),
        ("fail", ("tls_legacy",)),
        ("pass", ()),
        ("na", ("openssl_removed",)),
        ("warning", ("openssl_1_1", "tls_no_min_protocol")),
    ],
    "lnx_suid_files": [("pass", ()), ("fail", ("suid_rogue",))],
    "lnx_kernel_network": [
        ("pass", ()),
        ("fail", ("sysctl_forwarding",)),
        ("warning", ("sysctl_redirects",)),
    ],
    "lnx_failed_units": [("pass", ()), ("fail", ("unit_failed",))],
    "lnx_inactive_accounts": [
        ("pass", ()),
        ("fail", ("account_idle_100",)),
        ("warning", ("account_idle_60",)),
    ],
    "lnx_antimalware": [
        ("pass", ()),
        ("fail", ("antimalware_off",)),
        ("warning", ("antimalware_aging",)),
        ("fail", ("antimalware_stale",)),
    ],
    "lnx_backup_recency": [
        ("pass", ()),
        ("fail", ("backup_removed",)),
        ("warning", ("backup_3_days",)),
        ("fail", ("backup_10_days",)),
    ],
    "lnx_file_integrity": [
        ("pass", ()),
        ("fail", ("aide_removed",)),
        ("warning", ("aide_no_database",)),
        ("warning", ("aide_unscheduled",)),
    ],
    "lnx_cert_expiry": [
        ("pass", ()),
        ("fail", ("cert_expired",)),
        ("warning", ("cert_expiring",)),
        ("na", ("openssl_removed",)),
    ],
    "lnx_patch_level": [
        ("pass", ()),
        ("fail", ("security_update_pending",)),
        ("warning", ("reboot_pending",)),
        ("warning", ("apt_lists_stale",)),
        ("na", ("apt_tools_removed",)),
        ("warning", ("apt_no_security_source",)),
    ],
    "lnx_luks": [("na", ())],
    "lnx_time_sync": [("na", ())],
    "lnx_auditd": [("na", ())],
}
# The container-bound checks' statuses on VM hosts: (kind of VM, status, drifts). Round k
# boots one VM of the k-th cases' kind and applies all their drifts.
VmCase = tuple[Kind, str, tuple[str, ...]]
VM_CASES: dict[str, list[VmCase]] = {
    "lnx_luks": [
        (Kind.VM, "pass", ()),
        (Kind.VM_PLAIN, "fail", ()),
        (Kind.VM_PLAIN, "warning", ("crypt_data_volume",)),
    ],
    "lnx_time_sync": [
        (Kind.VM, "pass", ()),
        (Kind.VM_PLAIN, "fail", ("time_unsynced",)),
        (Kind.VM_PLAIN, "warning", ("time_source_lost",)),
    ],
    "lnx_auditd": [
        (Kind.VM, "pass", ()),
        (Kind.VM_PLAIN, "fail", ("auditd_stopped",)),
        (Kind.VM_PLAIN, "warning", ("audit_rules_missing",)),
    ],
}
# Disk space is this machine's disk: its warning and fail come from site thresholds
# (test below), not from filling the disk. Admin accounts has no fail by design.
NOT_DRIVEN_TO_FAIL = {"lnx_disk_space", "lnx_admin_accounts"}
# Declared statuses the rounds do not reach, and why.
_GUARD = "a guard for a probe answer no host gives; tests/unit/test_reasons.py reaches it"
NOT_IN_ROUNDS = {
    ("lnx_failed_units", "na"): "shown by test_on_a_host_that_is_no_container",
    ("lnx_privileged_accounts", "error"): _GUARD,
    ("lnx_lockout", "error"): _GUARD,
    ("lnx_password_policy", "error"): _GUARD,
    ("lnx_ssh_hardening", "error"): _GUARD,
}
CONTAINER_BOUND = drift.CONTAINER_BOUND_CHECKS


def linux_checks() -> dict[str, set[str]]:
    """Each Linux check and the statuses its rules can give."""
    return {
        c.id: {rule.status.value for rule in c.rules}
        | ({"na"} if c.spec.applies.requires else set())
        for c in load_catalog().for_platform(Platform.LINUX)
    }


def test_every_linux_check_has_cases() -> None:
    checks = linux_checks()
    assert set(CASES) == set(checks), "every Linux check needs lab cases, and only those"
    for check_id, cases in CASES.items():
        statuses = {status for status, _ in cases}
        assert statuses <= checks[check_id], f"{check_id} cannot give {statuses - checks[check_id]}"
        if check_id in CONTAINER_BOUND:
            assert statuses == {"na"}
            statuses |= {status for _, status, _ in VM_CASES[check_id]}
            assert statuses == checks[check_id], f"{check_id}: {statuses} on containers and VMs"
        elif check_id not in NOT_DRIVEN_TO_FAIL:
            assert {"pass", "fail"} <= statuses, f"{check_id} needs a pass and a fail case"
            missing = {s for s in checks[check_id] - statuses if (check_id, s) not in NOT_IN_ROUNDS}
            assert not missing, f"{check_id} declares {missing} but no case reaches it"
    assert set(VM_CASES) == CONTAINER_BOUND
    drifts = {d for cases in CASES.values() for _, found in cases for d in found}
    drifts |= {d for cases in VM_CASES.values() for _, _, found in cases for d in found}
    assert drifts <= set(drift.DRIFTS)


ROUNDS = list(zip_longest(*([(check, case) for case in cases] for check, cases in CASES.items())))


def scan(osiris, host_name: str, address: str, lab_env, tmp_path, *checks: str) -> dict:
    """Scan one lab host (only ``checks`` if given): each check's result by id."""
    inventory = write_inventory(tmp_path, {host_name: address})
    selection = ["--checks", ",".join(checks)] if checks else []
    result = osiris("scan", "-i", str(inventory), *selection, "--json", env=lab_env, timeout=300)
    assert result.stdout, result.stderr
    return {r["check_id"]: r for r in json.loads(result.stdout)["hosts"][0]["results"]}


def wrong_statuses(expected: dict[str, str], found: dict) -> dict:
    return {
        check: (status, found[check]["status"], found[check]["reason"])
        for check, status in expected.items()
        if found[check]["status"] != status
    }


@pytest.mark.parametrize("round_index", range(len(ROUNDS)))
def test_round_of_cases_on_a_fresh_host(osiris, lab: LabState, lab_env, tmp_path, round_index):
    cases = {check: case for check, case in filter(None, ROUNDS[round_index])}
    name = f"lc{round_index}"
    host = lab_control.add_host(name, Kind.SYSTEMD, profile="clean")
    try:
        # checks sharing a case (a tool taken away) share its drift: apply it once
        drift.apply(host, *dict.fromkeys(d for _, drifts in cases.values() for d in drifts))
        found = scan(osiris, host.name, host.address, lab_env, tmp_path)
    finally:
        lab_control.remove_host(name)
    wrong = wrong_statuses({check: status for check, (status, _) in cases.items()}, found)
    assert not wrong, wrong


VM_ROUNDS = [
    {check: cases[k] for check, cases in VM_CASES.items()}
    for k in range(max(len(c) for c in VM_CASES.values()))
]


def vm_round(index: int, lab_env: dict[str, str], directory: Path) -> dict:
    """Boot round ``index``'s VM, drift it and scan it; the checks whose status is wrong.

    The clean VM (the pass round) is scanned whole and must pass the whole catalog; the
    drifted ones start from Debian's defaults and are scanned for their checks only."""
    cases = VM_ROUNDS[index]
    (kind,) = {kind for kind, _, _ in cases.values()}
    clean = not any(drifts for _, _, drifts in cases.values())
    name = f"lv{index}"
    host = lab_control.add_host(name, kind, profile="clean" if clean else "base")
    try:
        drift.apply(host, *dict.fromkeys(d for _, _, drifts in cases.values() for d in drifts))
        osiris = osiris_runner(directory)
        found = scan(osiris, host.name, host.address, lab_env, directory, *([] if clean else cases))
    finally:
        lab_control.remove_host(name)
    expected = {check: status for check, (_, status, _) in cases.items()}
    if clean:
        expected = {check: "pass" for check in found} | expected
    return wrong_statuses(expected, found)


@pytest.fixture(scope="module")
def vm_rounds(
    lab: LabState, lab_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Future[dict]]]:
    """The VM rounds run side by side (each VM has one emulated CPU and mostly waits on
    its boot and on SSH); each test waits for its own round."""
    with ThreadPoolExecutor(max_workers=len(VM_ROUNDS), thread_name_prefix="vm-round") as pool:
        futures = [
            pool.submit(vm_round, k, lab_env, tmp_path_factory.mktemp(f"vm-round-{k}"))
            for k in range(len(VM_ROUNDS))
        ]
        yield futures
        for future in futures:
            future.cancel()


@pytest.mark.parametrize("round_index", range(len(VM_ROUNDS)))
def test_round_of_cases_on_a_vm(vm_rounds: list[Future[dict]], round_index: int) -> None:
    """On a VM, the checks that containers cannot answer give their pass (with the
    whole catalog passing on the clean VM), fail and warning."""
    wrong = vm_rounds[round_index].result(timeout=900)
    assert not wrong, wrong


def test_on_a_host_that_is_no_container(osiris, lab: LabState, lab_env, tmp_path):
    """A light host (sshd in a chroot, in its own namespaces) runs no systemd."""
    host = lab_control.add_host("lclight", Kind.LIGHT, profile="base")
    try:
        found = scan(osiris, host.name, host.address, lab_env, tmp_path, "lnx_failed_units")
    finally:
        lab_control.remove_host("lclight")
    result = found["lnx_failed_units"]
    assert (result["status"], result["reason"]) == ("na", "systemd is not running on this host")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [({"warning_percent": 1, "fail_percent": 100}, "warning"), ({"fail_percent": 1}, "fail")],
)
def test_disk_space_follows_site_thresholds(
    osiris, lab: LabState, lab_env, tmp_path, overrides, expected
):
    """The lab cannot fill this machine's disk; the site's thresholds move the line."""
    assert osiris("init").returncode == 0
    config = tmp_path / "home" / "config.yaml"
    settings = yaml.safe_load(config.read_text())
    settings["thresholds"] = {"lnx_disk_space": overrides}
    config.write_text(yaml.safe_dump(settings))
    inventory = write_inventory(tmp_path, {lab.hosts[0].name: lab.hosts[0].address})
    result = osiris(
        "scan", "-i", str(inventory), "--checks", "lnx_disk_space", "--json", env=lab_env
    )
    assert result.stdout, result.stderr
    (check,) = json.loads(result.stdout)["hosts"][0]["results"]
    assert check["status"] == expected, check["reason"]


# States a check once judged wrongly (issue 11), shown in turn on one shared host: the
# drifts that make the state, the site's thresholds, and for each check scanned its status
# and its reason as people read it (a regular expression). Each state brings its own
# drifts, so any one of them can run alone.
Expected = dict[str, tuple[str, str]]
USED_TO_BE_WRONG: dict[str, tuple[tuple[str, ...], dict, Expected]] = {
    # bash's typeset is declare: "TMOUT is unset" before
    "tmout_typeset": (
        ("tmout_typeset",),
        {},
        {"lnx_session_timeout": ("pass", r"idle shells end after 900 s \(TMOUT\)")},
    ),
    # Debian 12's default: a persistent journal and no rsyslog ("about None days" before)
    "journald_only": (
        ("journal_only",),
        {},
        {
            "lnx_log_retention": (
                "pass",
                r"the persistent journal has no time limit and has not filled its \d+ MB:"
                r" it has deleted no log yet",
            )
        },
    ),
    "journald_keeps_35_days": (
        ("journal_only", "journal_keeps_35"),
        {},
        {
            "lnx_log_retention": (
                "warning",
                r"the persistent journal keeps only about 35 days of logs and nothing is"
                r" forwarded",
            )
        },
    ),
    "journal_uploaded": (
        ("journal_only", "journal_volatile", "journal_uploaded"),
        {},
        {
            "lnx_log_retention": (
                "pass",
                r"logs are forwarded to a remote collector by systemd-journal-upload",
            )
        },
    ),
    # Debian 12's polkit helper is allowed; the reason names only the file off the lists
    "suid_polkit_and_a_rogue": (
        ("suid_polkit_helper", "suid_rogue"),
        {},
        {
            "lnx_suid_files": (
                "fail",
                r"set-user-ID files nobody has allowed: /usr/local/bin/rootsh \(remove the"
                r" bit, or add them to allowed_extra\)",
            )
        },
    ),
    # a site allows a file without copying the distribution's list
    "suid_allowed_extra": (
        ("suid_polkit_helper", "suid_rogue"),
        {"lnx_suid_files": {"allowed_extra": ["/usr/local/bin/rootsh"]}},
        {"lnx_suid_files": ("pass", r"every set-user-ID file is a known one")},
    ),
    # a container's clamd is not the host's ("signatures None days old" before)
    "clamd_in_a_container": (
        ("antimalware_off", "clamd_in_a_container"),
        {},
        {"lnx_antimalware": ("fail", r"no anti-malware engine is running")},
    ),
    # redirects accepted with SYN cookies on: the reason names only what is wrong
    "redirects_with_syncookies_on": (
        ("sysctl_redirects",),
        {},
        {
            "lnx_kernel_network": (
                "warning",
                r"the kernel accepts ICMP redirects \(net\.ipv4\.conf\.all\.accept_redirects = 1,"
                r" net\.ipv4\.conf\.default\.accept_redirects = 0\)",
            )
        },
    ),
    # lists read as words, not Python lists
    "privileges_in_words": (
        (),
        {},
        {
            "lnx_privileged_accounts": (
                "pass",
                r"UID 0 is held by root only, no account has an empty password, and sudo asks"
                r" for a password",
            )
        },
    ),
}


@pytest.fixture(scope="module")
def shared_host(lab: LabState) -> Iterator[LabHost]:
    """One clean host for every state of USED_TO_BE_WRONG, in turn."""
    host = lab_control.add_host("lcw", Kind.SYSTEMD, profile="clean")
    try:
        yield host
    finally:
        lab_control.remove_host("lcw")


@pytest.fixture(scope="module")
def shared_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Runner, Path]:
    directory = tmp_path_factory.mktemp("used-to-be-wrong")
    osiris = osiris_runner(directory)
    assert osiris("init").returncode == 0
    return osiris, directory


@pytest.mark.parametrize("state", list(USED_TO_BE_WRONG))
def test_a_state_once_judged_wrongly(
    shared_host: LabHost, shared_site: tuple[Runner, Path], lab_env: dict[str, str], state: str
) -> None:
    drifts, thresholds, expected = USED_TO_BE_WRONG[state]
    osiris, directory = shared_site
    host = shared_host
    drift.apply(host, *drifts)
    config = directory / "home" / "config.yaml"
    settings = yaml.safe_load(config.read_text())
    settings["thresholds"] = thresholds
    config.write_text(yaml.safe_dump(settings))
    found = scan(osiris, host.name, host.address, lab_env, directory, *expected)
    wrong = {
        check: (found[check]["status"], found[check]["reason"])
        for check, (status, reason) in expected.items()
        if found[check]["status"] != status or not re.fullmatch(reason, found[check]["reason"])
    }
    assert not wrong, wrong


def test_a_scan_as_a_user_who_is_not_root_passes_nothing_it_could_not_read(
    shared_host: LabHost, shared_site: tuple[Runner, Path], lab_env: dict[str, str]
) -> None:
    """The shared host scanned over SSH as an ordinary user (no become) and as root: where
    the user's probe saw other facts than root's, its check is error, never a pass or a
    finding built on what it could not read."""
    osiris, directory = shared_site
    drift.apply(shared_host, "scan_user")
    as_root = scan(osiris, shared_host.name, shared_host.address, lab_env, directory)
    inventory = write_inventory(directory, {shared_host.name: shared_host.address})
    settings = yaml.safe_load(inventory.read_text())
    settings["all"]["vars"]["ansible_user"] = "labscan"
    inventory.write_text(yaml.safe_dump(settings))
    result = osiris("scan", "-i", str(inventory), "--json", env=lab_env, timeout=300)
    assert result.stdout, result.stderr
    as_user = {r["check_id"]: r for r in json.loads(result.stdout)["hosts"][0]["results"]}
    assert as_user["lnx_privileged_accounts"]["status"] == "error"
    assert as_user["lnx_privileged_accounts"]["reason"].startswith("could not read /etc/shadow")
    moving = {"lnx_disk_space"}  # its facts move between two scans, whoever runs them
    seen_otherwise = {
        check: (result["status"], result["reason"])
        for check, result in as_user.items()
        if check not in moving
        and result["status"] != "error"
        and result.get("facts") != as_root[check].get("facts")
    }
    assert not seen_otherwise
