"""`osiris scan` against the lab: real Debian hosts over SSH and WinRM twins over HTTPS."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import yaml

from osiris.catalog import load_catalog
from osiris.model import Platform
from tests.lab import drift
from tests.lab.hosts import LabHost, ssh_argv
from tests.lab.lab import LabState
from tests.lab.paths import CLIENT_KEY, INVENTORY_FILE, KNOWN_HOSTS_FILE, SUBNET


def scan(osiris, lab_env: dict, *args: str) -> tuple[int, dict]:
    result = osiris("scan", "--json", *args, env=lab_env, timeout=300)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def by_host(document: dict) -> dict[str, dict]:
    return {h["name"]: h for h in document["hosts"]}


def statuses(host: dict) -> dict[str, str]:
    return {r["check_id"]: r["status"] for r in host["results"]}


def clean_linux() -> dict[str, str]:
    """What a clean lab host gives: pass, but na where a container owns nothing to judge."""
    return {
        c.id: "na" if c.id in drift.CONTAINER_BOUND_CHECKS else "pass"
        for c in load_catalog().for_platform(Platform.LINUX)
    }


def test_linux_hosts_and_twins_in_one_run(osiris, lab: LabState, lab_env: dict, tmp_path):
    code, document = scan(osiris, lab_env, "-i", str(INVENTORY_FILE))
    hosts = by_host(document)
    linux = [h.name for h in lab.hosts]
    windows = [t.name for t in lab.twins]
    assert len(linux) >= 3 and len(windows) >= 2
    assert set(hosts) == {*linux, *windows}
    catalog = load_catalog()
    for name in linux:
        assert hosts[name]["reached"], hosts[name]["error"]
        assert statuses(hosts[name]) == clean_linux()
    for name in windows:
        assert hosts[name]["reached"], hosts[name]["error"]
        found = statuses(hosts[name])
        assert set(found) == {c.id for c in catalog.for_platform(Platform.WINDOWS)}
        assert set(found.values()) <= {"pass", "na"}, found
    assert code == 0
    rows = (
        sqlite3.connect(tmp_path / "home" / "osiris.db")
        .execute("SELECT count(*) FROM results WHERE run_id = ?", [document["run_id"]])
        .fetchone()
    )
    assert rows[0] == sum(len(h["results"]) for h in document["hosts"])


def test_drift_on_a_real_host_is_found(osiris, fresh_host: LabHost, lab_env: dict, tmp_path):
    drift.apply(fresh_host, "ssh_root_password", "firewall_accept", "uid0_extra")
    inventory = write_inventory(tmp_path, {fresh_host.name: fresh_host.address})
    code, document = scan(osiris, lab_env, "-i", str(inventory))
    found = statuses(document["hosts"][0])
    assert found["lnx_ssh_hardening"] == "fail"
    assert found["lnx_firewall"] == "warning"
    assert found["lnx_privileged_accounts"] == "fail"
    assert found["lnx_lockout"] == "pass"
    assert code == 1


def test_unreachable_and_garbage_hosts_are_errors_and_others_finish(
    osiris, lab: LabState, fresh_host: LabHost, lab_env: dict, tmp_path
):
    # `stat` that prints garbage: the permissions probe cannot produce JSON
    fake = (
        "printf '#!/bin/sh\\necho \"{garbage\"\\n' > /usr/local/bin/stat"
        " && chmod +x /usr/local/bin/stat"
    )
    subprocess.run(ssh_argv(fresh_host, fake), check=True, capture_output=True, timeout=30)
    inventory = write_inventory(
        tmp_path,
        {
            fresh_host.name: fresh_host.address,
            "ghost": f"{SUBNET}.250.2",
            "good": lab.hosts[0].address,
        },
    )
    code, document = scan(osiris, lab_env, "-i", str(inventory), "--timeout", "20")
    hosts = by_host(document)
    assert not hosts["ghost"]["reached"]
    assert "unreachable" in hosts["ghost"]["error"]
    assert set(statuses(hosts["ghost"]).values()) == {"error"}
    garbage = {r["check_id"]: r for r in hosts[fresh_host.name]["results"]}
    assert garbage["lnx_file_permissions"]["status"] == "error"
    assert "unexpected mode of /etc/shadow: {garbage" in garbage["lnx_file_permissions"]["reason"]
    assert garbage["lnx_firewall"]["status"] == "pass"
    assert statuses(hosts["good"]) == clean_linux()
    assert code == 2


def test_a_wrong_host_key_is_refused_naming_the_key(osiris, lab: LabState, lab_env, tmp_path):
    host, impostor = lab.hosts[0], lab.hosts[1]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"{host.address} {impostor.host_key}\n")
    inventory = write_inventory(tmp_path, {host.name: host.address}, known_hosts=known_hosts)
    code, document = scan(osiris, lab_env, "-i", str(inventory))
    (result,) = document["hosts"]
    assert not result["reached"]
    assert result["error"].startswith(
        f"host_key: host key mismatch for {host.address}: got ssh-ed25519 SHA256:"
    )
    assert set(statuses(result).values()) == {"error"}
    assert code == 2


def test_unknown_host_key_needs_opt_in(osiris, lab: LabState, lab_env, tmp_path):
    host = lab.hosts[2]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    inventory = write_inventory(tmp_path, {host.name: host.address}, known_hosts=known_hosts)
    code, document = scan(osiris, lab_env, "-i", str(inventory))
    assert code == 2
    assert "unknown host key ssh-ed25519 SHA256:" in document["hosts"][0]["error"]
    code, document = scan(osiris, lab_env, "-i", str(inventory), "--accept-new-host-keys")
    assert document["hosts"][0]["reached"]
    assert host.host_key.split()[1] in known_hosts.read_text()


def write_inventory(
    directory: Path, hosts: dict[str, str], known_hosts: Path | None = None
) -> Path:
    """A one-group inventory reusing the lab's key and known_hosts (or another file)."""
    lab_inventory = yaml.safe_load(INVENTORY_FILE.read_text())
    variables = dict(lab_inventory["all"]["children"]["linux"]["vars"])
    if known_hosts is not None:
        variables["ansible_ssh_common_args"] = f"-o UserKnownHostsFile={known_hosts}"
    inventory = {
        "all": {"vars": variables, "hosts": {n: {"ansible_host": a} for n, a in hosts.items()}}
    }
    path = directory / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


def test_inventory_check_reports_each_host(osiris, lab: LabState, lab_env, tmp_path):
    result = osiris("inventory", "check", "-i", str(INVENTORY_FILE), "--json", env=lab_env)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = {h["name"]: h for h in json.loads(result.stdout)}
    assert all(h["ok"] for h in checked.values())
    assert set(checked) == {*(h.name for h in lab.hosts), *(t.name for t in lab.twins)}
    listing = osiris("inventory", "list", "-i", str(INVENTORY_FILE), "--json", env=lab_env)
    assert lab_env["OSIRIS_LAB_WINRM_PASSWORD"] not in listing.stdout
    shutil.rmtree(tmp_path / "home", ignore_errors=True)


def test_direct_and_ansible_engines_give_identical_results(
    osiris, lab: LabState, fresh_host: LabHost, lab_env: dict, tmp_path
):
    drift.apply(fresh_host, "ssh_max_tries_10", "firewall_accept", "pwquality_12", "lockout_off")
    hosts = {h.name: h.address for h in lab.hosts} | {fresh_host.name: fresh_host.address}
    inventory = write_inventory(tmp_path, hosts)
    outcomes = {}
    for engine in ("direct", "ansible"):
        code, document = scan(osiris, lab_env, "-i", str(inventory), "--engine", engine)
        outcomes[engine] = (
            code,
            {
                h["name"]: [
                    (r["check_id"], r["status"], r["reason"], r["facts"])
                    if r["check_id"] != "lnx_disk_space"
                    # the lab's disks are this machine's, which others write to between scans
                    else (r["check_id"], r["status"])
                    for r in h["results"]
                ]
                for h in document["hosts"]
            },
        )
    assert outcomes["direct"] == outcomes["ansible"]
    code, results = outcomes["ansible"]
    found = {check: status for check, status, *_ in results[fresh_host.name]}
    assert found["lnx_ssh_hardening"] == "warning" and found["lnx_lockout"] == "fail"
    assert code == 1


def test_ssh_password_authentication(osiris, fresh_host: LabHost, lab_env: dict, tmp_path):
    """Password from the environment through the inventory; a wrong one is an auth error."""
    subprocess.run(
        ssh_argv(fresh_host, "echo 'root:Lab-pass-1234' | chpasswd"),
        check=True,
        capture_output=True,
        timeout=30,
    )
    drift.apply(fresh_host, "ssh_root_password")
    inventory = tmp_path / "password.yml"
    lab_vars = yaml.safe_load(INVENTORY_FILE.read_text())["all"]["children"]["linux"]["vars"]
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        fresh_host.name: {
                            "ansible_host": fresh_host.address,
                            "ansible_user": "root",
                            "ansible_password": "{{ lookup('env', 'LAB_ROOT_PASSWORD') }}",
                            "ansible_ssh_common_args": lab_vars["ansible_ssh_common_args"],
                        }
                    }
                }
            }
        )
    )
    env = {**lab_env, "LAB_ROOT_PASSWORD": "Lab-pass-1234"}
    code, document = scan(osiris, env, "-i", str(inventory), "--checks", "lnx_ssh_hardening")
    (host,) = document["hosts"]
    assert host["reached"], host["error"]
    assert statuses(host) == {"lnx_ssh_hardening": "fail"}
    code, document = scan(osiris, {**env, "LAB_ROOT_PASSWORD": "wrong"}, "-i", str(inventory))
    assert document["hosts"][0]["error"].startswith("auth: authentication failed")
    assert code == 2


def test_twin_over_http_ntlm_and_https_basic(osiris, lab: LabState, lab_env: dict, tmp_path):
    """HTTP with NTLM message encryption, and HTTPS with Basic, both validated end to end."""
    twin = lab.twins[1]
    windows = yaml.safe_load(INVENTORY_FILE.read_text())["all"]["children"]["windows"]
    base = {**windows["vars"], "ansible_host": "127.0.0.1", "osiris_role": "server"}
    inventory = tmp_path / "windows.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "http-ntlm": {
                            **base,
                            "ansible_winrm_scheme": "http",
                            "ansible_port": twin.http_port,
                        },
                        "https-basic": {
                            **base,
                            "ansible_winrm_transport": "basic",
                            "ansible_port": twin.https_port,
                        },
                    }
                }
            }
        )
    )
    code, document = scan(osiris, lab_env, "-i", str(inventory))
    hosts = by_host(document)
    for name in ("http-ntlm", "https-basic"):
        assert hosts[name]["reached"], hosts[name]["error"]
    assert code == 0
    assert statuses(hosts["http-ntlm"]) == statuses(hosts["https-basic"])


def test_untrusted_winrm_certificate_is_refused(osiris, lab: LabState, lab_env, tmp_path):
    twin = lab.twins[0]
    windows = yaml.safe_load(INVENTORY_FILE.read_text())["all"]["children"]["windows"]
    variables = {k: v for k, v in windows["vars"].items() if k != "ansible_winrm_ca_trust_path"}
    inventory = tmp_path / "untrusted.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "win-untrusted": {
                            **variables,
                            "ansible_host": "127.0.0.1",
                            "ansible_port": twin.https_port,
                        }
                    }
                }
            }
        )
    )
    code, document = scan(osiris, lab_env, "-i", str(inventory))
    error = document["hosts"][0]["error"]
    assert error.startswith("host_key: TLS certificate of https://127.0.0.1:"), error
    assert code == 2


def test_a_host_that_does_not_answer_in_time_is_an_error(
    osiris, lab: LabState, fresh_host: LabHost, lab_env: dict, tmp_path
):
    hang = (
        "printf '#!/bin/sh\\nsleep 300\\n' > /usr/local/sbin/sshd && chmod +x /usr/local/sbin/sshd"
    )
    subprocess.run(ssh_argv(fresh_host, hang), check=True, capture_output=True, timeout=30)
    inventory = write_inventory(
        tmp_path, {fresh_host.name: fresh_host.address, "good": lab.hosts[0].address}
    )
    # generous for the host that answers (a loaded CI machine), far below the hang
    code, document = scan(osiris, lab_env, "-i", str(inventory), "--timeout", "20")
    hosts = by_host(document)
    assert hosts[fresh_host.name]["error"] == "timeout: no answer within 20 s"
    assert set(statuses(hosts[fresh_host.name]).values()) == {"error"}
    assert statuses(hosts["good"]) == clean_linux()
    assert code == 2


def test_a_lab_scan_leaves_whole_evidence(osiris, lab: LabState, lab_env: dict, tmp_path):
    """Every lab host's outcome is sealed and logged; verify finds the log whole."""
    code, document = scan(osiris, lab_env, "-i", str(INVENTORY_FILE))
    assert code == 0
    verified = osiris("verify", "--json", env=lab_env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    db = sqlite3.connect(tmp_path / "home" / "osiris.db")
    hosts = db.execute("SELECT count(*) FROM envelopes WHERE run_id = ?", [document["run_id"]])
    assert hosts.fetchone()[0] == len(document["hosts"]) == len(lab.hosts) + len(lab.twins)
    assert report["ok"] and report["failed"] == []
    assert report["log"]["size"] == report["checkpoint_size"] >= len(document["hosts"])


def test_hosts_given_as_arguments_or_a_host_list_need_no_inventory_file(
    osiris, lab: LabState, lab_env: dict, tmp_path
):
    """`osiris scan root@HOST` and `-i 'A,B,'` with what an ssh user already has: a key
    and known_hosts in ~/.ssh. Host keys stay pinned: a host not in known_hosts is
    refused."""
    first, second = lab.hosts[0], lab.hosts[1]
    dot_ssh = tmp_path / "user" / ".ssh"
    dot_ssh.mkdir(parents=True)
    shutil.copy(CLIENT_KEY, dot_ssh / "id_ed25519")
    (dot_ssh / "id_ed25519").chmod(0o600)
    shutil.copy(KNOWN_HOSTS_FILE, dot_ssh / "known_hosts")
    env = {**lab_env, "HOME": str(tmp_path / "user")}
    code, document = scan(osiris, env, f"root@{first.address}", "--checks", "lnx_firewall")
    assert [(h["name"], h["reached"]) for h in document["hosts"]] == [(first.address, True)]
    assert statuses(document["hosts"][0]) == {"lnx_firewall": "pass"}
    listed = f"root@{first.address},root@{second.address},"
    code, document = scan(osiris, env, "-i", listed, "--checks", "lnx_firewall")
    assert {h["name"]: h["reached"] for h in document["hosts"]} == {
        first.address: True,
        second.address: True,
    }
    (dot_ssh / "known_hosts").write_text(f"{second.address} {second.host_key}\n")
    code, document = scan(osiris, env, f"root@{first.address}", "--checks", "lnx_firewall")
    assert code == 2
    assert document["hosts"][0]["error"].startswith("host_key: unknown host key")
