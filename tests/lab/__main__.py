"""`python -m tests.lab up|status|down`: the lab by hand.

python -m tests.lab up --hosts 3 --light 5 --vms 1 --windows 3 --drift clean
python -m tests.lab status
python -m tests.lab down
"""

from __future__ import annotations

import argparse
import json
import sys

from tests.lab import lab, twins
from tests.lab.drift import PROFILES


def by_hand(state: lab.LabState) -> list[str]:
    """What a person types to scan the lab outside pytest."""
    lines = ["scan it by hand:"]
    if state.twins:  # the inventory reads the twins' password from the environment
        lines.append(f'  export {twins.PASSWORD_ENV}="$(cat {twins.PASSWORD_FILE})"')
    lines.append(f"  osiris scan -i {lab.INVENTORY_FILE}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.lab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start a fresh lab (an earlier one is torn down)")
    up.add_argument("--hosts", type=int, default=3, help="systemd hosts (default 3)")
    up.add_argument("--light", type=int, default=0, help="light sshd-only hosts (max 50)")
    up.add_argument("--vms", type=int, default=0, help="qemu VM hosts, root on LUKS")
    up.add_argument("--windows", type=int, default=0, help="WinRM twins")
    up.add_argument("--drift", default="clean", choices=sorted(PROFILES), help="drift profile")
    commands.add_parser("status", help="what is running (JSON)")
    commands.add_parser("down", help="stop everything and clean up")
    args = parser.parse_args(argv)
    if args.command == "up":
        if not 0 <= args.light <= 50:
            parser.error("--light must be between 0 and 50")
        state = lab.up(args.hosts, args.light, args.windows, args.drift, vms=args.vms)
        for host in state.hosts:
            print(f"{host.name:10} {host.kind:8} {host.address}")
        for twin in state.twins:
            print(f"{twin.name:10} {twin.role:17} https://127.0.0.1:{twin.https_port}/wsman")
        print(f"inventory: {lab.INVENTORY_FILE}  ({state.timings['total']:.1f} s)")
        print("\n".join(by_hand(state)))
    elif args.command == "status":
        print(json.dumps(lab.status(), indent=2))
    else:
        lab.down()
        print("lab is down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
