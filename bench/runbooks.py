"""Linux runbooks on one lab host, with Ansible's SSH pipelining on and off.

    sudo .venv/bin/python -m bench.runbooks          # a systemd (container) host
    sudo .venv/bin/python -m bench.runbooks --vm     # a qemu VM host (slow SSH under TCG)
    sudo .venv/bin/python -m bench.runbooks --quick --running-lab --host NAME  # tests' run

osiris runs runbooks with ANSIBLE_PIPELINING=True (osiris.ansible.runner): each task is
one SSH operation instead of four (make a temp dir, copy the module, run it, remove the
dir). Each runbook runs once to reach its fixed state, then alternately without and with
pipelining, ROUNDS times each, on the same host; the best of each is printed with their
ratio. Every run must end successful. --quick: one runbook, one run each way, and no
run to reach the fixed state first (the first run may change the host, so the ratio
means nothing). The runbooks change the host: give a running lab's host by name, one
nothing else uses.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.lab import add_lab_options, as_osiris_host, lab_for, pick
from osiris.ansible.inventory import generate
from osiris.ansible.runner import run_playbook
from osiris.catalog import load_catalog
from osiris.heal.runbooks import load_runbooks
from osiris.transport import TransportOptions
from tests.lab.paths import KNOWN_HOSTS_FILE

RUNBOOKS = ("linux_password_policy", "linux_session_timeout", "linux_sshd_harden")
ROUNDS = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.runbooks", description=__doc__)
    parser.add_argument("--vm", action="store_true", help="run them on a qemu VM host")
    add_lab_options(parser)
    args = parser.parse_args(argv)
    runbooks, rounds = (RUNBOOKS[1:2], 1) if args.quick else (RUNBOOKS, ROUNDS)
    up = {"hosts": 0 if args.vm else 1, "light": 0, "windows": 0, "profile": "clean"}
    with lab_for(args.running_lab, **up, vms=int(args.vm)) as state:
        host = pick(state, args.host)
        inventory = generate(
            [as_osiris_host(host)], TransportOptions(known_hosts=(str(KNOWN_HOSTS_FILE),))
        )
        registry = load_runbooks(load_catalog())
        saved = os.environ.get("ANSIBLE_PIPELINING")

        def timed(runbook_id: str, pipelining: bool) -> float:
            os.environ["ANSIBLE_PIPELINING"] = str(pipelining)
            started = time.perf_counter()
            run = run_playbook(registry.get(runbook_id).playbook, inventory, forks=1, timeout=600)
            elapsed = time.perf_counter() - started
            assert run.status == "successful", (runbook_id, run.output_tail)
            return elapsed

        print(f"one lab host ({host.kind}), best of {rounds}")
        print(f"{'runbook':26} {'plain':>8} {'pipelined':>10} {'ratio':>6}")
        try:
            for runbook_id in runbooks:
                if not args.quick:
                    timed(runbook_id, True)  # the first run changes the host; later ones do not
                plain, piped = [], []
                for _ in range(rounds):
                    plain.append(timed(runbook_id, False))
                    piped.append(timed(runbook_id, True))
                best, best_piped = min(plain), min(piped)
                print(f"{runbook_id:26} {best:7.2f}s {best_piped:9.2f}s {best_piped / best:6.2f}")
        finally:
            if saved is None:
                os.environ.pop("ANSIBLE_PIPELINING", None)
            else:
                os.environ["ANSIBLE_PIPELINING"] = saved
    return 0


if __name__ == "__main__":
    sys.exit(main())
