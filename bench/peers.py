"""osiris against Lynis on one lab host: time, and which osiris checks Lynis also tests.

    sudo .venv/bin/python -m bench.peers          # a systemd (container) host
    sudo .venv/bin/python -m bench.peers --vm     # a qemu VM host: kernel, disks, clock
    sudo .venv/bin/python -m bench.peers --quick --running-lab    # the test suite's run

Lynis is Debian's package, installed in the lab base. Both run against the same freshly
booted host (clean profile): Lynis with `lynis audit system --cronjob` over SSH, osiris
with its direct engine and every Linux check. The coverage table maps each osiris Linux
check to the Lynis tests that look at the same thing, and marks each Lynis id present or
not in this Lynis version (`lynis show tests`). Goal: osiris <= 1/10 of Lynis's time.
--quick: Lynis runs only the tests named for the first QUICK_CHECKS checks (`--tests`)
and osiris runs once, so the ratio means nothing; Lynis writes only its own log and
report files on the host.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time

from bench.lab import add_lab_options, as_osiris_host, lab_for, pick
from osiris.catalog import load_catalog
from osiris.catalog.thresholds import resolver
from osiris.model import Platform
from osiris.scan.runner import ScanSettings, scan_hosts
from osiris.transport import TransportOptions
from tests.lab.hosts import LabHost, ssh_argv
from tests.lab.paths import KNOWN_HOSTS_FILE

QUICK_CHECKS = 3

# osiris check -> Lynis tests covering the same ground (empty: Lynis has none)
LYNIS_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "lnx_ssh_hardening": ("SSH-7408",),
    "lnx_ssh_crypto": (),
    "lnx_firewall": ("FIRE-4512", "FIRE-4540"),
    "lnx_file_permissions": ("FILE-7524",),
    "lnx_privileged_accounts": ("AUTH-9204", "AUTH-9283"),
    "lnx_admin_accounts": (),
    "lnx_password_policy": ("AUTH-9262",),
    "lnx_lockout": (),
    "lnx_auto_updates": ("PKGS-7420",),
    "lnx_usb_storage": ("USB-1000",),
    "lnx_disk_space": (),
    "lnx_session_timeout": ("SHLL-6220",),
    "lnx_log_retention": ("LOGG-2154", "LOGG-2146"),
    "lnx_tls_policy": (),
    "lnx_suid_files": (),
    "lnx_kernel_network": ("KRNL-6000",),
    "lnx_failed_units": (),
    "lnx_inactive_accounts": (),
    "lnx_antimalware": ("HRDN-7230", "MALW-3280"),
    "lnx_backup_recency": (),
    "lnx_file_integrity": ("FINT-4350",),
    "lnx_cert_expiry": ("CRYP-7902",),
    "lnx_patch_level": ("PKGS-7392", "KRNL-5830"),
    "lnx_luks": ("CRYP-7930",),
    "lnx_time_sync": ("TIME-3104",),
    "lnx_auditd": ("ACCT-9628",),
}


def timed(run: object) -> float:
    started = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__)
    parser.add_argument("--vm", action="store_true", help="run both on a qemu VM host")
    add_lab_options(parser)
    args = parser.parse_args(argv)
    up = {"hosts": 0 if args.vm else 1, "light": 0, "windows": 0, "profile": "clean"}
    with lab_for(args.running_lab, **up, vms=int(args.vm)) as state:
        return compare(pick(state, args.host), quick=args.quick)


def compare(host: LabHost, *, quick: bool) -> int:
    target = as_osiris_host(host)
    checks = load_catalog().for_platform(Platform.LINUX)
    settings = ScanSettings(
        forks=1, transport=TransportOptions(known_hosts=(str(KNOWN_HOSTS_FILE),))
    )
    only: list[str] = []
    if quick:
        only = [i for c in checks[:QUICK_CHECKS] for i in LYNIS_EQUIVALENTS.get(c.id, ())]

    def lynis() -> None:
        selection = ("--tests", shlex.quote(" ".join(only))) if only else ()
        subprocess.run(
            ssh_argv(host, "lynis", "audit", "system", "--cronjob", "--quiet", *selection),
            capture_output=True,
            timeout=1800,
            check=True,
        )

    def osiris() -> None:
        outcome = next(iter(scan_hosts([target], checks, resolver({}), settings)))
        assert outcome.error is None, outcome.error

    t_lynis = timed(lynis)
    t_osiris = min(timed(osiris) for _ in range(1 if quick else 3))
    known = set(
        subprocess.run(
            ssh_argv(host, "lynis", "show", "tests"), capture_output=True, text=True, check=True
        ).stdout.split()
    )
    print(f"one lab host ({host.kind}), {len(checks)} osiris Linux checks")
    if quick:
        print(f"quick: Lynis ran {' '.join(only)} only, so the ratio means nothing")
    print(f"lynis audit system: {t_lynis:6.2f} s")
    print(f"osiris scan:        {t_osiris:6.2f} s   (osiris / lynis = {t_osiris / t_lynis:.3f})")
    print(f"\n{'osiris check':26} Lynis tests")
    covered = 0
    for check in checks:
        ids = LYNIS_EQUIVALENTS.get(check.id, ())
        present = [i for i in ids if i in known]
        covered += bool(present)
        marks = ", ".join(f"{i}{'' if i in known else ' (absent)'}" for i in ids) or "-"
        print(f"{check.id:26} {marks}")
    print(f"\nLynis also tests {covered} of {len(checks)} osiris Linux checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
