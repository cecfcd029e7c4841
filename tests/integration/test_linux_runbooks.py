"""Every Linux runbook, run for real through ansible-runner on a drifted lab host.

For each Linux runbook of the registry, one fresh host (profile clean) gets the drifts
of its case (``CASES``) and then:

1. ``osiris scan --checks <fixes>`` says each check the runbook fixes fails;
2. check mode (``--check --diff``) reports changes but leaves the host as it was: a
   listing of its state (files under /etc with owner, mode and content digest, SUID
   files, nftables, network sysctls, packages, enabled units), read over SSH, is the
   same before and after;
3. the real run succeeds and changes something, and the scan now passes every check;
4. a second real run changes nothing (idempotent);
5. osiris can still open a new SSH connection to the host;
6. the host's effective configuration, read the way the software that uses it reads it
   (``sshd -T``, ``sysctl``, ``modprobe -n -v``, ``apt-config dump``, a login shell), is
   what the runbook promises (``EFFECTIVE``).

Where a runbook's class applies, its case includes a *competing setting* (drifts named
``*_competing``): the host's own configuration that is read before, or instead of, the
file the runbook writes (an earlier sshd drop-in, a sysctl.d file sorting later, ...). A
runbook that only adds its own file passes the scan there at best by accident; step 6
shows it reached the configuration in force. ``SITE_VALUES`` runs a runbook with a site's
threshold instead of the default (as heal passes it), so step 6 also shows it follows it.

The runbooks for kernel audit and the clock run on a VM host (tests/lab/vm.py), which
owns them. A Linux runbook without a case fails ``test_every_linux_runbook_has_a_case``. The cases
run side by side, ``WORKERS`` at a time, each on its own host (``runbook_cases``).
"""

from __future__ import annotations

import difflib
import itertools
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from osiris.ansible.inventory import GeneratedInventory, generate
from osiris.ansible.runner import Outcome, PlaybookRun, run_playbook
from osiris.catalog import load_catalog
from osiris.heal.runbooks import Runbook, load_runbooks
from osiris.inventory import load_inventory
from osiris.model import Platform
from osiris.transport import TransportOptions
from tests.integration.test_scan_lab import scan, statuses, write_inventory
from tests.lab import drift
from tests.lab import lab as lab_control
from tests.lab.hosts import Kind, LabHost, ssh_argv
from tests.lab.lab import LabState
from tests.lab.paths import KNOWN_HOSTS_FILE
from tests.osiris_cli import osiris_runner

# runbook id -> the drifts (tests/lab/drift.py) that make every check it fixes fail
CASES: dict[str, tuple[str, ...]] = {
    "linux_sshd_harden": ("ssh_root_password", "sshd_config_readable", "ssh_competing"),
    "linux_ssh_crypto": ("ssh_crypto_cbc", "ssh_crypto_competing"),
    "linux_firewall": ("firewall_off",),
    "linux_file_permissions": ("shadow_world_readable", "sshd_config_readable"),
    "linux_password_policy": (
        "pwquality_no_dictionary",
        "pwquality_off",
        "pwquality_8",
        "pwquality_competing",
    ),
    "linux_account_lockout": (
        "lockout_off",
        "lockout_deny_8",
        "lockout_competing",
        "lockout_unlock_never",
    ),
    "linux_auto_updates": ("auto_updates_off", "auto_updates_no_lists", "auto_updates_competing"),
    "linux_usb_storage": ("usb_module_tree", "usb_allowed", "usb_competing"),
    "linux_session_timeout": ("session_timeout_hour", "session_timeout_competing"),
    "linux_log_retention": ("log_retention_daily",),
    "linux_tls_policy": ("tls_legacy",),
    "linux_kernel_network": ("sysctl_source_route", "sysctl_redirects", "sysctl_competing"),
    "linux_kernel_network_no_forwarding": (
        "sysctl_forwarding",
        "sysctl_redirects",
        "sysctl_forwarding_competing",
    ),
    "linux_security_updates": ("security_update_pending",),
    "linux_suid_remove": ("suid_rogue",),
    "linux_lock_inactive_accounts": ("account_idle_100", "account_idle_60"),
    "linux_privileged_accounts": ("uid0_extra", "empty_password"),
    "linux_audit_rules": ("auditd_stopped", "audit_rules_missing"),
    "linux_time_sync": ("time_unsynced",),
}
_CRYPTO = load_catalog().checks["lnx_ssh_crypto"].spec.thresholds
_SHA1_MACS = [
    "hmac-sha1",
    "hmac-sha1-etm@openssh.com",
]  # offered by default; a site may refuse them
# the site's thresholds a runbook runs with (extra vars, as osiris.heal.variables sends
# them); the scan keeps the defaults, which these are stricter than
SITE_VALUES: dict[str, dict[str, object]] = {
    "linux_sshd_harden": {"osiris_max_auth_tries": 3},
    "linux_ssh_crypto": {
        "osiris_discouraged_algorithms": _CRYPTO["discouraged"].default + _SHA1_MACS
    },
    "linux_password_policy": {"osiris_min_length": 16},
    "linux_account_lockout": {"osiris_deny": 3},
}
_SSHD_EFFECTIVE = (
    "grep -E '^(maxauthtries|permitrootlogin|passwordauthentication|permitemptypasswords) '"
)
_WEAK = [*_CRYPTO["broken"].default, *_CRYPTO["discouraged"].default, *_SHA1_MACS]
# a user changes their own password with passwd (PAM, pam_pwquality) to 15, then 16 characters
_PASSWD = """id labpw >/dev/null 2>&1 || useradd -m -s /bin/sh labpw
echo 'labpw:Old-pass-1234-xyz' | chpasswd
try() {
  if out=$(su labpw -c "printf 'Old-pass-1234-xyz\\n%s\\n%s\\n' $1 $1 | passwd" 2>&1); then
    echo "${#1}: accepted"
  else
    echo "${#1}: $(printf '%s\\n' "$out" | grep -o 'shorter than [0-9]* characters' | head -n 1)"
  fi
}
try Qw7rtyu9Lop2zXm; try Qw7rtyu9Lop2zXmK"""
# a user fails to su to another three times (PAM: su includes common-auth), then gets it right
_LOCKOUT = """id labpw >/dev/null 2>&1 || useradd -m -s /bin/sh labpw
id vic >/dev/null 2>&1 || useradd -m -s /bin/sh vic
echo 'vic:Vic-pass-1234-xyz' | chpasswd
for try in 1 2 3; do su labpw -c "echo wrong | su vic -c true" >/dev/null 2>&1; done
su labpw -c "echo Vic-pass-1234-xyz | su vic -c 'echo in'" 2>&1 | grep -o 'locked due to .*'"""
_SYSCTLS = "net.ipv4.conf.all.accept_source_route net.ipv4.conf.all.accept_redirects"
# runbook id -> (a command run on the host after the fix, exactly what it must print)
EFFECTIVE: dict[str, tuple[str, str]] = {
    "linux_sshd_harden": (
        # everyone, then root connecting from elsewhere (the Match block for root applies)
        f"sshd -T | {_SSHD_EFFECTIVE};"
        f" sshd -T -C user=root,host=h,addr=192.0.2.7,laddr=192.0.2.1,lport=22 | {_SSHD_EFFECTIVE}",
        "maxauthtries 3\npermitrootlogin without-password\npasswordauthentication no\n"
        "permitemptypasswords no\n" * 2,
    ),
    "linux_ssh_crypto": (
        # how many weak algorithms sshd offers, and that a strong one is still there
        "sshd -T > /tmp/lab-sshd-T && awk '$1 ~ /^(ciphers|macs|kexalgorithms)$/ { print $2 }'"
        " /tmp/lab-sshd-T | tr , '\\n' | grep -cxF"
        + "".join(f" -e {name}" for name in _WEAK)
        + "; grep -q '^macs .*hmac-sha2-256' /tmp/lab-sshd-T && echo strong kept",
        "0\nstrong kept\n",
    ),
    # what a reboot applies: systemd-sysctl reads every sysctl.d file in order
    "linux_kernel_network": (
        f"/lib/systemd/systemd-sysctl && sysctl -n {_SYSCTLS} {_SYSCTLS.replace('all', 'default')}",
        "0\n0\n0\n0\n",
    ),
    "linux_kernel_network_no_forwarding": (
        f"/lib/systemd/systemd-sysctl && sysctl -n net.ipv4.ip_forward {_SYSCTLS}",
        "0\n0\n0\n",
    ),
    "linux_usb_storage": ("modprobe -n -v usb-storage", "install /bin/false \n"),
    "linux_auto_updates": (
        "apt-config shell U APT::Periodic::Unattended-Upgrade L APT::Periodic::Update-Package-Lists"
        " E APT::Periodic::Enable",
        "U='1'\nL='1'\n",
    ),
    # a login shell, as a person gets one
    "linux_session_timeout": ("bash -lc 'echo \"$TMOUT\"' 2>/dev/null", "900\n"),
    "linux_password_policy": (_PASSWD, "15: shorter than 16 characters\n16: accepted\n"),
    "linux_account_lockout": (
        f"{_LOCKOUT}; grep -E '^\\s*unlock_time' /etc/security/faillock.conf | tail -n 1",
        "locked due to 3 failed logins.\nunlock_time = never\n",
    ),
}
# Runbooks for what a container does not own (kernel audit, the clock) run on a VM host.
# (lnx_usb_storage's case gives the container a module tree instead: usb_module_tree.)
ON_A_VM = {"linux_audit_rules", "linux_time_sync"}

# What a runbook may change, listed in a stable order; check mode must leave it alone.
STATE = r"""
find /etc /usr/share/pam-configs /usr/local -xdev -printf '%p %y %m %u:%g %s %l\n' | sort
find /etc /usr/share/pam-configs /usr/local -xdev -type f -exec sha256sum {} + | sort -k 2
find / -xdev -type f -perm -4000 | sort
nft list ruleset
sysctl -a 2>/dev/null | sort \
  | grep -E '^net\.ipv(4|6)\.(ip_forward|tcp_syncookies|conf\.(all|default)\.)'
dpkg-query -W -f '${Package} ${Version} ${Status}\n'
systemctl list-unit-files --state=enabled --no-legend | sort
"""

_names = itertools.count(1)
WORKERS = 4


def linux_runbooks() -> dict[str, Runbook]:
    registry = load_runbooks(load_catalog())
    return {r.id: r for r in registry if r.spec.platform is Platform.LINUX}


RUNBOOKS = linux_runbooks()


def test_every_linux_runbook_has_a_case() -> None:
    assert set(CASES) == set(RUNBOOKS), "each Linux runbook needs a case, and only those"
    for drifts in CASES.values():
        assert drifts and set(drifts) <= set(drift.DRIFTS)
    assert set(SITE_VALUES) | set(EFFECTIVE) <= set(CASES)


def host_state(host: LabHost) -> str:
    result = subprocess.run(
        ssh_argv(host, "sh", "-s"), input=STATE, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def changed_tasks(run: PlaybookRun) -> list[str]:
    return [r.task for r in run.results if r.outcome is Outcome.OK and r.result.get("changed")]


def assert_successful(run: PlaybookRun, what: str) -> None:
    bad = [
        (r.task, r.result.get("msg"))
        for r in run.results
        if r.outcome in (Outcome.FAILED, Outcome.UNREACHABLE)
    ]
    assert run.status == "successful" and not bad, (what, run.status, bad, run.output_tail)


def can_log_in(host: LabHost) -> bool:
    """A new SSH connection, strict host key checking, as osiris makes them."""
    result = subprocess.run(ssh_argv(host, "true"), capture_output=True, timeout=30)
    return result.returncode == 0


def exercise(runbook: Runbook, lab_env: dict[str, str], directory: Path) -> None:
    """The whole case of one runbook on its own fresh host (see the module docstring)."""
    checks = ",".join(runbook.spec.fixes)
    osiris = osiris_runner(directory)
    name = f"rb{next(_names)}"
    kind = Kind.VM if runbook.id in ON_A_VM else Kind.SYSTEMD
    host = lab_control.add_host(name, kind, profile="clean")
    try:
        drift.apply(host, *CASES[runbook.id])
        inventory_file = write_inventory(directory, {host.name: host.address})
        inventory = _generate(inventory_file)

        def run(check: bool = False) -> PlaybookRun:
            return run_playbook(
                runbook.playbook,
                inventory,
                forks=1,
                timeout=runbook.spec.timeout,
                check=check,
                diff=check,
                extravars=SITE_VALUES.get(runbook.id),
            )

        def scanned() -> dict[str, str]:
            _, document = scan(osiris, lab_env, "-i", str(inventory_file), "--checks", checks)
            (found,) = document["hosts"]
            assert found["reached"], found["error"]
            return statuses(found)

        assert scanned() == dict.fromkeys(runbook.spec.fixes, "fail")

        before = host_state(host)
        dry = run(check=True)
        assert_successful(dry, "check mode")
        assert changed_tasks(dry), "check mode reports no change on a drifted host"
        after = host_state(host)
        assert before == after, "check mode changed the host:\n" + "\n".join(
            difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        )

        fixed = run()
        assert_successful(fixed, "real run")
        assert changed_tasks(fixed), "the real run changed nothing"
        # the listing must see what the runbook changes, or step 2 would prove nothing
        assert host_state(host) != before, "the state listing misses this runbook's changes"
        assert scanned() == dict.fromkeys(runbook.spec.fixes, "pass")

        again = run()
        assert_successful(again, "second run")
        assert changed_tasks(again) == [], "the second run is not idempotent"
        assert can_log_in(host), "osiris cannot log in to the host any more"
        if runbook.id in EFFECTIVE:
            command, expected = EFFECTIVE[runbook.id]
            assert on_host(host, command) == expected, f"not in force: {command}"
    finally:
        lab_control.remove_host(name)


@pytest.fixture(scope="module")
def runbook_cases(
    lab: LabState,
    lab_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[dict[str, Future[None]]]:
    """Starts the case of every selected runbook, WORKERS at a time on their own hosts
    (a case mostly waits on SSH and ansible-playbook, so they overlap well); each test
    then waits for its own and sees its assertion errors."""
    selected = [
        item.callspec.params["runbook_id"]
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.originalname == "test_runbook_fixes_its_drift_on_a_real_host"
    ]
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="runbook") as pool:
        futures = {
            runbook_id: pool.submit(
                exercise, RUNBOOKS[runbook_id], lab_env, tmp_path_factory.mktemp(runbook_id)
            )
            for runbook_id in selected
            if runbook_id in CASES
        }
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.parametrize("runbook_id", sorted(RUNBOOKS))
def test_runbook_fixes_its_drift_on_a_real_host(
    runbook_cases: dict[str, Future[None]], runbook_id: str
) -> None:
    assert runbook_id in CASES, f"{runbook_id} has no case in CASES"
    runbook_cases[runbook_id].result(timeout=900)


def test_firewall_keeps_listeners_open_and_rolls_back_when_osiris_is_cut_off(
    runbook_cases: dict[str, Future[None]], lab: LabState, tmp_path: Path
) -> None:
    """A service listening before the run stays reachable and a later one is dropped.
    Then a lockout: right after the table loads, new SSH connections are dropped (a
    stand-in for a rule that cut osiris off); the fresh login fails, the run fails, and
    the armed timer takes the table away on the host's own. (It asks for runbook_cases
    only so that the runbook cases run beside it.)"""
    name = f"rb{next(_names)}"
    host = lab_control.add_host(name, profile="clean")
    try:
        drift.apply(host, "firewall_off")
        on_host(
            host,
            f"{_serve(8080)} && until ss -Hltn 'sport = :8080' | grep -q .; do sleep 0.1; done",
        )
        inventory = _inventory(tmp_path, host)
        firewall = RUNBOOKS["linux_firewall"].playbook
        assert_successful(run_playbook(firewall, inventory, forks=1, timeout=240), "real run")
        assert _port_answers(host, 8080), "a service listening before the run was cut off"
        on_host(
            host,
            f"{_serve(8081)} && until ss -Hltn 'sport = :8081' | grep -q .; do sleep 0.1; done",
        )
        assert not _port_answers(host, 8081), "a new listener is reachable through the firewall"
        assert can_log_in(host)

        cut = (
            "until nft list table inet osiris_filter >/dev/null 2>&1; do sleep 0.05; done;"
            " nft -f - <<'NFT'\n"
            "table inet lab_cut {\n chain input {\n"
            "  type filter hook input priority -10; tcp dport 22 ct state new drop\n }\n}\nNFT\n"
            " sleep 15; nft delete table inet lab_cut"
        )
        on_host(
            host,
            "nft delete table inet osiris_filter && systemd-run --quiet --unit=lab-cut"
            f" sh -c {shlex.quote(cut)}",
        )
        cut_off = run_playbook(
            firewall,
            inventory,
            forks=1,
            timeout=240,
            extravars={"osiris_firewall_rollback_seconds": 3, "osiris_firewall_login_timeout": 6},
        )
        assert cut_off.status != "successful", "the run did not notice osiris was cut off"
        loaded = [r.task for r in cut_off.results if r.task == "Load the osiris table"]
        assert loaded, cut_off.output_tail
        deadline = time.monotonic() + 60
        while not can_log_in(host):  # until the stand-in lets SSH in again
            assert time.monotonic() < deadline, "the host stayed cut off"
            time.sleep(1)
        tables = on_host(host, "nft list tables; ls /etc/nftables.d")
        assert "osiris_filter" not in tables, "the rollback timer did not remove the table"
        assert "osiris-input.nft.rolled-back" in tables
    finally:
        lab_control.remove_host(name)


def test_log_retention_keeps_a_journald_only_hosts_journal(
    runbook_cases: dict[str, Future[None]], lab: LabState, tmp_path: Path
) -> None:
    """On a host where journald alone keeps the logs, linux_log_retention keeps the journal
    on disk with no shorter limit, whatever the drop-in read last or journald.conf say:
    check mode changes nothing, the real run does, a second changes nothing, and journald
    reads Storage=persistent and no MaxRetentionSec (systemd-analyze cat-config) and writes
    to /var/log/journal. (It asks for runbook_cases only to run beside them.)"""
    name = f"rb{next(_names)}"
    host = lab_control.add_host(name, profile="clean")
    try:
        drift.apply(host, "log_journal_only", "journal_competing")
        playbook = RUNBOOKS["linux_log_retention"].playbook
        inventory = _inventory(tmp_path, host)
        before = host_state(host)
        dry = run_playbook(playbook, inventory, forks=1, timeout=120, check=True, diff=True)
        assert_successful(dry, "check mode")
        assert changed_tasks(dry) and host_state(host) == before
        assert_successful(run_playbook(playbook, inventory, forks=1, timeout=120), "real run")
        again = run_playbook(playbook, inventory, forks=1, timeout=120)
        assert_successful(again, "second run")
        assert changed_tasks(again) == []
        read = on_host(
            host,
            "systemd-analyze cat-config systemd/journald.conf"
            " | grep -E '^[[:space:]]*(Storage|MaxRetentionSec)[[:space:]]*='"
            "; journalctl --header | grep -c '^File path: /var/log/journal/'",
        )
        assert read.splitlines()[:-1] == ["Storage=persistent"], read
        assert int(read.splitlines()[-1]) >= 1, "journald does not write to /var/log/journal"
    finally:
        lab_control.remove_host(name)


def on_host(host: LabHost, command: str) -> str:
    result = subprocess.run(ssh_argv(host, command), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, (command, result.stderr)
    return result.stdout


def _serve(port: int) -> str:
    return f"systemd-run --quiet --unit=lab-http-{port} python3 -m http.server {port}"


def _inventory(directory: Path, host: LabHost) -> GeneratedInventory:
    return _generate(write_inventory(directory, {host.name: host.address}))


# Ansible's inventory plugins, which osiris.inventory uses in this process, are loaded
# into a shared cache that is not safe to fill from two threads at once.
_ansible_lock = threading.Lock()


def _generate(inventory_file: Path) -> GeneratedInventory:
    with _ansible_lock:
        hosts = load_inventory([inventory_file])
    return generate(hosts, TransportOptions(known_hosts=(str(KNOWN_HOSTS_FILE),)))


def _port_answers(host: LabHost, port: int) -> bool:
    try:
        with socket.create_connection((host.address, port), timeout=2):
            return True
    except OSError:
        return False
