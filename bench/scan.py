"""Scan speed on N lab hosts, against the floor and against Ansible, in one run.

    sudo .venv/bin/python -m bench.scan [--sizes 5,10,20] [--repeat 3]
    sudo .venv/bin/python -m bench.scan --quick --running-lab   # the test suite's run

For each N (light lab hosts: sshd in a chroot, in their own namespaces) and all Linux
checks, it times, best of --repeat:

- osiris: the direct engine (``osiris scan`` without Python start-up), forks = N;
- floor:  the same probe bundles sent by N parallel plain ``ssh`` processes;
- ansible per check: ``ansible-playbook`` with one shell task per check, forks = N
  (how the checks would run as ordinary Ansible tasks);

and prints osiris / floor (goal <= 1.5 at N = 20) and ansible / osiris (goal >= 10).
--quick: one host, once, and Ansible with the first QUICK_CHECKS checks only (its ratio
then means nothing: the run proves the bench works, not how fast osiris is).
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

from bench.lab import add_lab_options, as_osiris_host, lab_for
from osiris.ansible.inventory import generate
from osiris.catalog import load_catalog
from osiris.catalog.thresholds import resolver
from osiris.model import Host, Platform
from osiris.scan.bundle import SH_LIBRARY, build_bundle, new_nonce
from osiris.scan.runner import ScanSettings, scan_hosts
from osiris.transport import TransportOptions
from tests.lab.hosts import ssh_argv
from tests.lab.paths import KNOWN_HOSTS_FILE

QUICK_CHECKS = 3


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


def ansible_per_check_playbook(directory: Path, limit: int | None = None) -> Path:
    tasks = [
        {
            "name": check.id,
            # as `cmd` (a free-form argument is split on quotes and braces) and raw (the
            # shell's ${#x} would open a Jinja comment)
            "ansible.builtin.shell": {
                "cmd": "{% raw %}" + SH_LIBRARY + "\n" + check.spec.probe.script + "{% endraw %}"
            },
            "changed_when": False,
            "failed_when": False,
        }
        for check in load_catalog().for_platform(Platform.LINUX)[:limit]
    ]
    playbook = directory / "per-check.yml"
    play = {"name": "checks as tasks", "hosts": "all", "gather_facts": False, "tasks": tasks}
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    return playbook


def ansible_per_check(hosts: list[Host], playbook: Path) -> None:
    options = TransportOptions(known_hosts=(str(KNOWN_HOSTS_FILE),))
    inventory = playbook.with_name("inventory.yml")
    inventory.write_text(yaml.safe_dump(generate(hosts, options).data))
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            str(inventory),
            "-f",
            str(len(hosts)),
            str(playbook),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"ansible-playbook failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scan", description=__doc__)
    parser.add_argument("--sizes", default="5,10,20")
    parser.add_argument("--repeat", type=int, default=3)
    add_lab_options(parser)
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",")]
    if args.quick:
        sizes, args.repeat = [1], 1
    with lab_for(args.running_lab, hosts=0, light=max(sizes), windows=0, profile="clean") as state:
        if len(state.hosts) < max(sizes):
            raise SystemExit(f"the lab has {len(state.hosts)} hosts, fewer than {max(sizes)}")
        lab_hosts = [h for h in state.hosts if h.name == args.host] if args.host else state.hosts
        checks = len(load_catalog().for_platform(Platform.LINUX))
        print(f"{checks} Linux checks; {lab_hosts[0].kind} lab hosts; best of {args.repeat}")
        if args.quick:
            print(f"quick: Ansible runs {QUICK_CHECKS} checks only, so its ratio means nothing")
        print(
            f"{'N':>3} {'osiris s':>9} {'floor s':>8} {'ansible s':>10} "
            f"{'osiris/floor':>13} {'ansible/osiris':>15}"
        )
        with tempfile.TemporaryDirectory() as tmp:
            playbook = ansible_per_check_playbook(Path(tmp), QUICK_CHECKS if args.quick else None)
            for n in sizes:
                hosts = [as_osiris_host(h) for h in lab_hosts[:n]]
                t_osiris = best_of(args.repeat, lambda h=hosts: osiris_direct(h))
                t_floor = best_of(args.repeat, lambda h=hosts: floor(h))
                t_ansible = best_of(1, lambda h=hosts: ansible_per_check(h, playbook))
                print(
                    f"{n:>3} {t_osiris:>9.2f} {t_floor:>8.2f} {t_ansible:>10.2f} "
                    f"{t_osiris / t_floor:>13.2f} {t_ansible / t_osiris:>15.1f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
