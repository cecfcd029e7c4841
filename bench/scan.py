"""Scan speed on N lab hosts, against the floor and against Ansible, in one run.

    sudo .venv/bin/python -m bench.scan [--sizes 5,10,20] [--repeat 3]

For each N (light lab hosts: sshd in a chroot, in their own namespaces) and all Linux
checks, it times, best of --repeat:

- osiris: the direct engine (``osiris scan`` without Python start-up), forks = N;
- floor:  the same probe bundles sent by N parallel plain ``ssh`` processes;
- ansible per check: ``ansible-playbook`` with one shell task per check, forks = N
  (how the checks would run as ordinary Ansible tasks);

and prints osiris / floor (goal <= 1.5 at N = 20) and ansible / osiris (goal >= 10).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from osiris.catalog import load_catalog
from osiris.catalog.thresholds import resolver
from osiris.inventory import load_inventory
from osiris.model import Host, Platform
from osiris.scan.bundle import SH_LIBRARY, build_bundle, new_nonce
from osiris.scan.runner import ScanSettings, scan_hosts
from osiris.transport import TransportOptions
from tests.lab import lab
from tests.lab.hosts import ssh_argv
from tests.lab.paths import INVENTORY_FILE, KNOWN_HOSTS_FILE


def best_of(repeat: int, run: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def osiris_direct(hosts: list[Host]) -> None:
    checks = load_catalog().for_platform(Platform.LINUX)
    settings = ScanSettings(
        forks=len(hosts), transport=TransportOptions(known_hosts=(str(KNOWN_HOSTS_FILE),))
    )
    outcomes = list(scan_hosts(hosts, checks, resolver({}), settings))
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]


def floor(hosts: list[Host]) -> None:
    checks = load_catalog().for_platform(Platform.LINUX)
    with tempfile.TemporaryDirectory() as tmp:
        processes = []
        for host in hosts:
            bundle = Path(tmp) / f"{host.name}.sh"
            bundle.write_text(build_bundle(Platform.LINUX, checks, new_nonce()))
            with bundle.open() as stdin:  # every ssh gets its script at once, in parallel
                processes.append(
                    subprocess.Popen(
                        ssh_argv(host.address, "sh", "-s"), stdin=stdin, stdout=subprocess.PIPE
                    )
                )
        for process in processes:
            process.communicate()
            assert process.returncode == 0


def ansible_per_check_playbook(directory: Path) -> Path:
    tasks = [
        {
            "name": check.id,
            "ansible.builtin.shell": SH_LIBRARY + "\n" + check.spec.probe.script,
            "changed_when": False,
            "failed_when": False,
        }
        for check in load_catalog().for_platform(Platform.LINUX)
    ]
    playbook = directory / "per-check.yml"
    play = {"name": "checks as tasks", "hosts": "all", "gather_facts": False, "tasks": tasks}
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    return playbook


def ansible_per_check(hosts: list[Host], playbook: Path) -> None:
    names = ",".join(h.name for h in hosts)
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            str(INVENTORY_FILE),
            "--limit",
            names,
            "-f",
            str(len(hosts)),
            str(playbook),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,10,20")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    state = lab.up(hosts=0, light=max(sizes), windows=0, profile="clean")
    all_hosts = {h.name: h for h in load_inventory([INVENTORY_FILE])}
    names = [h.name for h in state.hosts]
    checks = len(load_catalog().for_platform(Platform.LINUX))
    print(f"{checks} Linux checks; light lab hosts; best of {args.repeat}")
    print(
        f"{'N':>3} {'osiris s':>9} {'floor s':>8} {'ansible s':>10} "
        f"{'osiris/floor':>13} {'ansible/osiris':>15}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        playbook = ansible_per_check_playbook(Path(tmp))
        for n in sizes:
            hosts = [all_hosts[name] for name in names[:n]]
            t_osiris = best_of(args.repeat, lambda h=hosts: osiris_direct(h))
            t_floor = best_of(args.repeat, lambda h=hosts: floor(h))
            t_ansible = best_of(1, lambda h=hosts: ansible_per_check(h, playbook))
            print(
                f"{n:>3} {t_osiris:>9.2f} {t_floor:>8.2f} {t_ansible:>10.2f} "
                f"{t_osiris / t_floor:>13.2f} {t_ansible / t_osiris:>15.1f}"
            )
    lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
