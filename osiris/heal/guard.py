"""The lockout guard: a dead man's switch around changes that could cut osiris off.

Before a runbook that touches SSH, the firewall or accounts runs on a Linux host, osiris
saves what such a change touches (sshd and PAM configuration, account files, sudoers,
the live nftables ruleset) and schedules, on the host itself, a revert that fires after
``seconds`` unless osiris disarms it. After the runbook osiris connects again: if it can,
it disarms; if it cannot, the host puts itself back and osiris finds it reachable again.
(The same idea as `commit confirmed` on routers, or iptables-apply.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from osiris.model import Host
from osiris.transport import FailureKind, TransportError, TransportOptions, connect

_SAVED = (
    "etc/ssh etc/nftables.conf etc/pam.d etc/security etc/passwd etc/shadow etc/group"
    " etc/gshadow etc/sudoers etc/sudoers.d"
)

_ARM = """set -e
dir=/var/lib/osiris-guard/{name}
rm -rf "$dir"; mkdir -p "$dir"; chmod 700 "$dir"
cd / && tar -cpf "$dir/files.tar" --ignore-failed-read {saved} 2>/dev/null || true
if command -v nft >/dev/null 2>&1; then
  nft list ruleset > "$dir/ruleset.nft" 2>/dev/null || true
fi
cat > "$dir/revert.sh" <<'OSIRIS_REVERT'
dir=$(dirname "$0")
tar -C / -xpf "$dir/files.tar"
if command -v nft >/dev/null 2>&1; then
  nft flush ruleset
  if [ -s "$dir/ruleset.nft" ]; then nft -f "$dir/ruleset.nft"; fi
fi
pid=$(cat /run/sshd.pid 2>/dev/null) && kill -HUP "$pid"
touch "$dir/reverted"
OSIRIS_REVERT
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --quiet --collect --unit={name} --on-active={seconds} \
    --timer-property=AccuracySec=1s /bin/sh "$dir/revert.sh"
else
  nohup sh -c "sleep {seconds}; exec sh $dir/revert.sh" >/dev/null 2>&1 &
  echo $! > "$dir/pid"
fi
echo armed
"""

_DISARM = """dir=/var/lib/osiris-guard/{name}
if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null; fi
if [ -d /run/systemd/system ]; then systemctl stop {name}.timer {name}.service 2>/dev/null; fi
test -e "$dir/reverted" && echo reverted || echo disarmed
rm -rf "$dir"
"""


@dataclass(frozen=True)
class Guard:
    name: str  # the systemd unit and directory name on the host
    seconds: int
    fires_at: float  # time.monotonic() when the revert runs unless disarmed


def arm(host: Host, options: TransportOptions, action_id: int, seconds: int) -> Guard:
    """Save and schedule the revert; raises TransportError if the host is not reachable."""
    guard = Guard(f"osiris-guard-{action_id}", seconds, time.monotonic() + seconds)
    script = _ARM.format(name=guard.name, saved=_SAVED, seconds=seconds)
    output = _run(host, options, script)
    if "armed" not in output:
        raise TransportError(FailureKind.PROTOCOL, f"could not arm the lockout guard: {output}")
    return guard


def disarm(host: Host, options: TransportOptions, guard: Guard) -> str:
    """'disarmed', or 'reverted' when the revert had already fired."""
    return _run(host, options, _DISARM.format(name=guard.name)).strip().splitlines()[-1]


def _run(host: Host, options: TransportOptions, script: str) -> str:
    transport = connect(host, options)
    try:
        result = transport.run(script, timeout=60)
    finally:
        transport.close()
    return result.stdout
