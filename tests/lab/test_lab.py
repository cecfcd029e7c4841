"""The lab itself: real hosts boot, keys are pinned, drift is real, nothing is left behind."""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import winrm
import yaml
from winrm.exceptions import InvalidCredentialsError

from tests.lab import cleanup, drift, network, twins
from tests.lab import lab as lab_control
from tests.lab.hosts import Kind, LabHost, ssh_argv, wait_ready
from tests.lab.lab import LabState
from tests.lab.paths import CACHE_DIR, INVENTORY_FILE, KNOWN_HOSTS_FILE, SUBNET

REPO = Path(__file__).resolve().parents[2]


def ssh(host: LabHost, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ssh_argv(host, command), capture_output=True, text=True, timeout=30)


def test_hosts_boot_systemd_and_answer_with_pinned_keys(lab: LabState) -> None:
    assert len([h for h in lab.hosts if h.kind == "systemd"]) >= 3
    for host in lab.hosts:
        result = ssh(host, "cat /proc/1/comm; systemctl is-system-running; hostname")
        assert result.returncode == 0, result.stderr
        init, state, name = result.stdout.split()
        assert init == "systemd"
        assert state == "running"
        assert name == host.name
        assert f"{host.address} {host.host_key}" in KNOWN_HOSTS_FILE.read_text()


def test_strict_host_key_checking_refuses_a_wrong_key(lab: LabState, tmp_path: Path) -> None:
    host = lab.hosts[0]
    other = lab.hosts[1]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"{host.address} {other.host_key}\n")
    argv = ssh_argv(host, "true")
    argv[argv.index(f"UserKnownHostsFile={KNOWN_HOSTS_FILE}")] = f"UserKnownHostsFile={wrong}"
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode == 255
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in result.stderr


def test_drift_is_visible_on_the_host(fresh_host: LabHost) -> None:
    before = ssh(fresh_host, "stat -c %a /etc/shadow; nft list ruleset | grep -c 'policy drop'")
    assert before.stdout.split() == ["640", "1"]
    drift.apply(fresh_host, "shadow_world_readable", "firewall_off", "ssh_root_password")
    after = ssh(fresh_host, "stat -c %a /etc/shadow; nft list ruleset | wc -l; sshd -T")
    mode, rules, *sshd = after.stdout.split("\n")
    assert (mode, rules) == ("644", "0")
    assert "permitrootlogin yes" in sshd


def test_a_unit_that_fails_once_is_retried_and_one_that_stays_failed_is_refused(
    fresh_host: LabHost, tmp_path: Path
) -> None:
    """A clean host must boot clean: a unit that failed under load is logged and started
    again; a unit that fails again makes the host not ready (so no check sees it)."""
    flaky = (
        "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        "ExecStart=/bin/sh -c 'test -e /run/lab-flaky || { touch /run/lab-flaky; exit 1; }'\n"
    )
    ssh(
        fresh_host,
        f"printf %s {shlex.quote(flaky)} > /etc/systemd/system/lab-flaky.service"
        " && systemctl daemon-reload"
        " && systemctl start lab-flaky.service",
    )
    log = tmp_path / "boot.log"
    assert wait_ready(fresh_host, time.monotonic() + 60, log) == "running"
    assert f"{fresh_host.name}: booted degraded; failed: ['lab-flaky.service']" in log.read_text()
    assert ssh(fresh_host, "systemctl is-active lab-flaky.service").stdout.strip() == "active"

    drift.apply(fresh_host, "unit_failed")
    with pytest.raises(RuntimeError, match=r"failed units \['lab-broken.service'\]"):
        wait_ready(fresh_host, time.monotonic() + 60, log)


def test_every_lab_address_is_loopback_or_the_labs_own(lab: LabState) -> None:
    lab_range = ipaddress.ip_network(f"{SUBNET}.0.0/16")
    inventory = yaml.safe_load(INVENTORY_FILE.read_text())
    for group in inventory["all"]["children"].values():
        for host in group["hosts"].values():
            address = ipaddress.ip_address(host["ansible_host"])
            assert address.is_loopback or address in lab_range
    routes = network.ip("route", "show", f"{SUBNET}.0.0/16").stdout
    assert routes.startswith("blackhole"), "the lab range must never leave this machine"
    unreachable = subprocess.run(
        ssh_argv(f"{SUBNET}.250.2", "true", timeout=2), capture_output=True, text=True
    )
    assert unreachable.returncode == 255
    # a blackhole route answers a local connect() with EINVAL: the packet never leaves
    assert "port 22: Invalid argument" in unreachable.stderr


def test_a_removed_host_leaves_nothing(lab: LabState) -> None:
    host = lab_control.add_host("gone", profile="base")
    assert ssh(host, "true").returncode == 0
    lab_control.remove_host("gone")
    assert_nothing_left(host)


def assert_nothing_left(host: LabHost) -> None:
    if host.namespace:
        assert host.namespace not in network.lab_namespaces()
    assert network.veth_name(host.slot) not in network.lab_veths()
    assert not _processes_naming(f"/hosts/{host.name}/")
    assert not cleanup.in_process_groups({host.pid})  # a VM's chronyd names no path
    assert not _mounts_naming(f"/hosts/{host.name}/")


def test_a_vm_host_owns_its_kernel_disk_clock_and_audit(lab: LabState) -> None:
    """What the container hosts cannot show, seen on the VM itself (not through osiris);
    removed, the VM leaves nothing behind."""
    host = lab_control.add_host("vmown", Kind.VM, profile="clean")
    try:
        result = ssh(
            host,
            "systemd-detect-virt; lsblk -rno TYPE,MOUNTPOINT | grep ' /$';"
            " timedatectl show -p NTPSynchronized --value; chronyc -n sources | grep -c '^\\^\\*';"
            " auditctl -s | grep -c '^enabled 1'; auditctl -l | grep -c /etc/shadow",
        )
    finally:
        lab_control.remove_host("vmown")
    assert_nothing_left(host)
    assert result.stdout.split() == ["qemu", "crypt", "/", "yes", "1", "1", "1"], result.stderr


def test_twins_reject_bad_credentials_and_answer_a_probe(lab: LabState, lab_env: dict) -> None:
    assert [t.role for t in lab.twins] == ["workstation", "member_server", "domain_controller"]
    twin = lab.twins[0]
    endpoint = f"https://127.0.0.1:{twin.https_port}/wsman"
    session = winrm.Session(
        endpoint,
        auth=(twins.USER, "wrong"),
        transport="ntlm",
        server_cert_validation="validate",
        ca_trust_path=str(twins.ca_file()),
    )
    with pytest.raises(InvalidCredentialsError):
        session.run_ps("Get-Date")
    session = winrm.Session(
        endpoint,
        auth=(twins.USER, lab_env[twins.PASSWORD_ENV]),
        transport="ntlm",
        server_cert_validation="validate",
        ca_trust_path=str(twins.ca_file()),
    )
    unknown = session.run_ps("Get-Date")
    assert unknown.status_code == 1
    assert b"is not recognized as the name of a cmdlet" in unknown.std_err


def _processes_naming(fragment: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if fragment in cmdline:
                found.append(cmdline)
    return found


def _mounts_naming(fragment: str) -> list[str]:
    found: set[str] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "mountinfo").read_text()
            except OSError:
                continue
            found.update(line for line in text.splitlines() if fragment in line)
    return sorted(found)


def test_up_killed_midway_then_up_again_then_down_leaves_nothing(lab: LabState, tmp_path):
    """A second, isolated lab (own directory, prefix and subnet) so the session lab stays."""
    env = {
        **os.environ,
        "OSIRIS_LAB_DIR": str(tmp_path / "lab2"),
        "OSIRIS_LAB_PREFIX": "olt-",
        "OSIRIS_LAB_SUBNET": "10.252",
        "OSIRIS_LAB_CACHE": str(CACHE_DIR),
    }
    up = [sys.executable, "-m", "tests.lab", "up", "--hosts", "2", "--light", "2", "--vms", "1"]
    up += ["--windows", "1"]
    first = subprocess.Popen(
        up,
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    state_file = tmp_path / "lab2" / "state.json"
    deadline = time.monotonic() + 60
    while not state_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(first.pid, signal.SIGKILL)  # mid-up: hosts booting, nothing ready yet
    first.wait()
    second = subprocess.run(up, env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stdout + second.stderr
    status = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tests.lab", "status"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert status["up"] and len(status["hosts"]) == 5 and len(status["twins"]) == 1
    assert all(h["alive"] for h in status["hosts"] + status["twins"])
    down = subprocess.run(
        [sys.executable, "-m", "tests.lab", "down"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 0, down.stderr
    namespaces = network.ip("netns", "list").stdout
    assert "olt-" not in namespaces
    assert "olt-" not in network.ip("-o", "link", "show").stdout
    assert not _processes_naming(str(tmp_path / "lab2"))
    assert not _mounts_naming(str(tmp_path / "lab2"))
    # the session lab is untouched
    assert ssh(lab.hosts[0], "true").returncode == 0
