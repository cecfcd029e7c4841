"""The lockout guard: a dead man's switch around changes that could cut osiris off.

Before a runbook that touches SSH, the firewall or accounts runs on a Linux host, osiris
saves what such a change touches (sshd and PAM configuration, account files, sudoers,
the live nftables ruleset) and schedules, on the host itself, a revert that fires after
``seconds`` unless osiris disarms it. After the runbook osiris connects again: if it can,
it disarms; if it cannot, the host puts itself back and osiris finds it reachable again.
(The same idea as `commit confirmed` on routers, or iptables-apply.)

On Windows the runbook's prelude arms it, in the same WinRM command as the change
(:func:`windows_prelude`, put there by osiris.heal.powershell): guard_windows.ps1 saves
the parts the runbook touches (``WINDOWS_SAVES``: firewall profiles and service, the
WinRM service and listeners, which accounts are enabled) and registers a one-time
scheduled task, run as SYSTEM, that restores them; disarming deletes the task.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from osiris.heal.runbooks import Touch
from osiris.model import Host, Platform
from osiris.transport import FailureKind, TransportError, TransportOptions, connect

# what guard_windows.ps1 saves before a runbook that touches each of these
WINDOWS_SAVES = {Touch.FIREWALL: "firewall", Touch.WINRM: "winrm", Touch.ACCOUNTS: "accounts"}
_WINDOWS_SCRIPT = Path(__file__).with_name("guard_windows.ps1")

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
    """Save and schedule the revert; raises TransportError if the host is not reachable.

    A Windows host is armed by the runbook's prelude (pass the guard to
    ``run_runbook``), so here it is only named and timed."""
    guard = Guard(f"osiris-guard-{action_id}", seconds, time.monotonic() + seconds)
    if host.platform is Platform.WINDOWS:
        return guard
    script = _ARM.format(name=guard.name, saved=_SAVED, seconds=seconds)
    output = _run(host, options, script)
    if "armed" not in output:
        raise TransportError(FailureKind.PROTOCOL, f"could not arm the lockout guard: {output}")
    return guard


def disarm(host: Host, options: TransportOptions, guard: Guard) -> str:
    """'disarmed', or 'reverted' when the revert had already fired (else what the host
    said: the disarm itself failed)."""
    if host.platform is Platform.WINDOWS:
        script = f"{_windows_functions()}Unregister-OsirisGuard -Name '{guard.name}'\n"
    else:
        script = _DISARM.format(name=guard.name)
    lines = _run(host, options, script).strip().splitlines()
    return lines[-1] if lines else "no answer to the disarm"


def clear(host: Host, options: TransportOptions, guard: Guard) -> None:
    """After the revert has fired and osiris is back: remove what it left on the host
    (the timer or task, the saved state). Best effort: a failure here changes nothing."""
    with contextlib.suppress(TransportError):
        disarm(host, options, guard)


def windows_prelude(guard: Guard, touches: Iterable[Touch]) -> str:
    """The PowerShell that arms ``guard`` on a Windows host, saving what ``touches`` can
    break; it goes before the runbook, after the shared lib (osiris.heal.powershell)."""
    saves = ", ".join(f"'{WINDOWS_SAVES[t]}'" for t in dict.fromkeys(touches) if t in WINDOWS_SAVES)
    call = f"Register-OsirisGuard -Name '{guard.name}' -Seconds {guard.seconds} -Save @({saves})"
    return f"{_windows_functions()}{call}\n"


@cache
def _windows_functions() -> str:
    return _WINDOWS_SCRIPT.read_text(encoding="utf-8")


def _run(host: Host, options: TransportOptions, script: str) -> str:
    transport = connect(host, options)
    try:
        result = transport.run(script, timeout=60)
    finally:
        transport.close()
    return result.stdout
