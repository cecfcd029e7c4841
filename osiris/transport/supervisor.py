"""A probe bundle runs under a small sh supervisor, so nothing of it outlives the scan.

The same supervisor runs on this machine and on SSH hosts. It reads exactly LENGTH
bytes of bundle from stdin into a private work directory (which is also the bundle's
``TMPDIR``), runs the bundle, and keeps stdin open as a lifeline: when the controller
closes it (to cancel, on a timeout) or dies (even by SIGKILL: the kernel closes its end
of the pipe, or its TCP connection), the supervisor ends every process the bundle
started and removes the directory. It does the same when the bundle finishes, so a probe
that left a process behind does not keep the scan, or the host, busy.

Ending "the process group" is not enough: GNU ``timeout``, which runs each probe, puts
itself in a group of its own, and a probe's orphans lose their parent. So the supervisor
ends every process whose environment carries the bundle's TMPDIR (one ``grep`` over
``/proc/*/environ``) and, when its session is its own (a session leader here, sshd's
session over SSH), every process of that session but itself and its ancestors (``sudo``,
the login shell), read from ``/proc/PID/stat`` with shell builtins only.

Locally, the supervisor also has a parent-death signal (``PR_SET_PDEATHSIG``), and the
controller ends what is left itself afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shlex
import signal
from pathlib import Path

# exit status of a supervisor stopped by its controller (128 + SIGTERM)
STOPPED = 143
# exit status when it could not set up (no work directory, bundle cut short)
SETUP_FAILED = 125

# set-up: the work directory, this shell's session and ancestors, how to stop
_SETUP = r"""
if [ -z "$osiris_d" ]; then
  osiris_d=$(mktemp -d "${TMPDIR:-/tmp}/osiris.XXXXXXXXXX") || exit 125
fi
osiris_sid=; osiris_keep=" $$ "; osiris_p=$$
while read -r osiris_l < "/proc/$osiris_p/stat"; do
  set -- ${osiris_l##*") "}
  osiris_sid=${osiris_sid:-$4}
  [ "$osiris_p" != "$4" ] && [ "$2" -gt 1 ] || break
  osiris_p=$2; osiris_keep="$osiris_keep$2 "
done 2>/dev/null
osiris_reap() {
  # what carries the bundle's TMPDIR (every process the bundle started, unless it
  # emptied its environment), wherever it went: one grep, no fork per process
  for osiris_round in 1 2 3 4 5; do
    # (grep's status is no guide: processes that end while it reads make it 2)
    osiris_left=$(grep -l -a -F "TMPDIR=$osiris_d" /proc/[0-9]*/environ 2>/dev/null)
    [ -n "$osiris_left" ] || break
    for osiris_p in $osiris_left; do
      osiris_p=${osiris_p#/proc/}; kill -KILL "${osiris_p%/environ}" 2>/dev/null
    done
  done
  # and, in a session of our own, everything in it but us and our ancestors
  [ "$osiris_own_session" = 1 ] && [ -n "$osiris_sid" ] || return 0
  for osiris_round in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    osiris_left=0
    for osiris_p in /proc/[0-9]*; do
      { read -r osiris_l < "$osiris_p/stat"; } 2>/dev/null || continue
      set -- ${osiris_l##*") "}
      [ "$4" = "$osiris_sid" ] && [ "$1" != Z ] || continue
      case $osiris_keep in *" ${osiris_p#/proc/} "*) continue ;; esac
      kill -KILL "${osiris_p#/proc/}" 2>/dev/null && osiris_left=1
    done
    [ "$osiris_left" = 1 ] || return 0
  done
}
osiris_stop() {
  trap '' TERM HUP INT
  osiris_reap
  rm -rf "$osiris_d"
  exit 143
}
trap osiris_stop TERM HUP INT
"""

# the bundle from stdin, exactly LENGTH bytes (stdin then stays open: the lifeline)
_READ_STDIN = r"""
head -c "$osiris_len" > "$osiris_d/bundle.sh" 2>/dev/null
if [ "$(( $(wc -c < "$osiris_d/bundle.sh") ))" != "$osiris_len" ]; then
  rm -rf "$osiris_d"; exit 125
fi
"""

# run it; with a lifeline, EOF on stdin stops everything
_RUN = r"""
exec 3<&0
TMPDIR=$osiris_d sh "$osiris_d/bundle.sh" </dev/null 3<&- &
osiris_bundle=$!
if [ "$osiris_lifeline" = 1 ]; then
  { cat <&3 >/dev/null 2>&1; kill -TERM $$; } >/dev/null 2>&1 &
fi
exec 3<&-
wait "$osiris_bundle"
osiris_rc=$?
trap '' TERM HUP INT
osiris_reap
rm -rf "$osiris_d"
exit "$osiris_rc"
"""

SUPERVISOR = (
    "osiris_len=$1; osiris_d=$2; osiris_lifeline=1; osiris_own_session=1\n"
    + _SETUP
    + _READ_STDIN
    + _RUN
)


def embedded_supervisor(bundle: str, *, lifeline: bool) -> str:
    """One script that supervises ``bundle`` (held in a here-document), for a runner
    that ships a file (Ansible's ``script`` module). ``lifeline``: over SSH, where the
    script has a session of its own (sshd's) and Ansible's pseudo-terminal as stdin:
    stop when it ends (its hangup stops it too). Not locally, where stdin is closed from
    the start and the session is ansible-playbook's, shared with its other work: there
    only what carries the bundle's TMPDIR is ended."""
    end = f"OSIRIS_BUNDLE_{secrets.token_hex(8)}"
    return (
        "#!/bin/sh\n# osiris probe supervisor\n"
        f"osiris_d=; osiris_lifeline={int(lifeline)}; osiris_own_session={int(lifeline)}\n"
        + _SETUP
        + f"cat > \"$osiris_d/bundle.sh\" <<'{end}'\n{bundle.rstrip()}\n{end}\n"
        + _RUN
    )


def supervisor_argv(length: int, workdir: str = "") -> list[str]:
    """``sh -c SUPERVISOR``, for a bundle of ``length`` bytes (``workdir``: made by the
    caller; empty: the supervisor makes one under ``$TMPDIR``)."""
    return ["sh", "-c", SUPERVISOR, "osiris-probe", str(length), workdir]


def supervisor_command(length: int, *, sudo: bool = False) -> str:
    """The same, as one shell command line (what an SSH server runs)."""
    argv = (["sudo", "-n"] if sudo else []) + supervisor_argv(length)
    return " ".join(shlex.quote(word) for word in argv)


def session_members(sid: int) -> list[int]:
    """Live processes (not zombies) of session ``sid`` on this machine."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 3 and fields[3] == str(sid) and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def carrying(workdir: str) -> list[int]:
    """Live processes whose environment names ``workdir`` as TMPDIR (a bundle's own)."""
    needle = f"TMPDIR={workdir}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue  # ended while we looked, or not ours to read
    return found


def end_session(sid: int, workdir: str | None = None, rounds: int = 20) -> None:
    """SIGKILL every process of session ``sid``, and every one carrying ``workdir`` as
    its TMPDIR (again, for those forked meanwhile)."""
    for _ in range(rounds):
        members = session_members(sid) + (carrying(workdir) if workdir else [])
        members = [pid for pid in members if pid != os.getpid()]
        if not members:
            return
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1
# resolved now: the forked child must not load anything (None: no prctl, not Linux)
_prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)


def die_with_parent() -> None:
    """``preexec_fn``: SIGTERM this child when the thread that started it ends (the
    whole controller, killed or not). Calls only a pre-resolved C function."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
