"""Probe bundles: every applicable check's probe in one script per host.

A bundle prints framed sections, one per check; the frame lines carry a per-bundle
random nonce so nothing a probe prints (host data is data) can forge or close a frame::

    @@osiris NONCE begin CHECK_ID
    {"json": "facts"}
    @@osiris NONCE end CHECK_ID EXIT_CODE ELAPSED_MS
    @@osiris NONCE stderr CHECK_ID last stderr, one line
    @@osiris NONCE missing CHECK_ID COMMAND
    @@osiris NONCE unreadable CHECK_ID WHAT

Each section's body must be exactly one JSON object; anything else makes that check
``error``. Only the frames are parsed here; facts are validated by the evaluator.

A probe tells "could not read" apart from "absent": a source that exists but cannot be
read (permission, I/O) is noted with ``osiris_unreadable`` (sh) or ``Add-OsirisUnreadable``
(PowerShell) and comes back as an ``unreadable`` frame. The parsed facts then carry the
reserved fact ``_unreadable`` (a list of what could not be read), which the evaluator turns
into ``error`` before any rule: a fact that was not read is never a pass.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from osiris.catalog.evaluate import UNREADABLE_FACT, unreadable_reason
from osiris.catalog.model import Check
from osiris.model import Platform

BUNDLE_MARKER = "# osiris probe bundle v1"
PROBE_MARKER = "# osiris:probe"


# Commands resolve in the system's own directories first, whatever the caller's PATH:
# an unprivileged user's PATH often lacks /usr/sbin (sshd, nft, auditctl), and a
# directory the user can write must not shadow a system tool. NixOS keeps its tools in
# /run/current-system/sw/bin. The caller's PATH stays last, for tools installed elsewhere.
_SH_PATH = (
    'PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    ':/run/current-system/sw/bin${PATH:+:$PATH}"; export PATH\n'
    "LC_ALL=C; export LC_ALL\n"
)

# Helpers every sh probe may use. They print JSON fragments.
SH_LIBRARY = r"""
# osiris_unreadable WHAT: WHAT exists but could not be read; the check becomes error
osiris_unreadable() {
  printf '%s\n' "$(printf '%s' "$1" | tr '\n\r' '  ')" >> "${OSIRIS_UNREADABLE:-/dev/null}"
}
# osiris_cat FILE...: the files' contents. A file that does not exist is skipped (absent);
# one that exists but cannot be read is noted unreadable and the status is 1.
osiris_cat() {
  osiris_cat_rc=0
  for osiris_file in "$@"; do
    { osiris_cat_err=$(cat -- "$osiris_file" 2>&1 >&3 3>&-); } 3>&1 && continue
    case "$osiris_cat_err" in
      *'No such file or directory'*|*'Not a directory'*) ;;
      *) osiris_unreadable "$osiris_file"; osiris_cat_rc=1 ;;
    esac
  done
  return "$osiris_cat_rc"
}
# osiris_pgrep NAME: pids of processes named NAME that belong to this host, not to a
# container on it: the same pid namespace as the probe (one NSpid entry; a kernel without
# NSpid cannot tell) and the same root directory (where it can be seen: only root sees
# other users' roots). A process that ends while it is looked at is not listed.
osiris_pgrep() {
  for osiris_pid in $(pgrep -x "$1" 2>/dev/null); do
    osiris_status=$(cat "/proc/$osiris_pid/status" 2>/dev/null) || continue
    osiris_levels=$(printf '%s\n' "$osiris_status" | awk '$1 == "NSpid:" { print NF - 1 }')
    [ -z "$osiris_levels" ] || [ "$osiris_levels" = 1 ] || continue
    if [ -e "/proc/$osiris_pid/root/" ]; then
      [ "/proc/$osiris_pid/root/" -ef / ] || continue
    elif [ "$(id -u)" = 0 ]; then
      continue
    fi
    [ -d "/proc/$osiris_pid" ] && echo "$osiris_pid"
  done
}
# osiris_q VALUE: VALUE as a JSON string
osiris_q() {
  printf '"'
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/\r/\\r/g' \
    | tr -d '\000-\010\013\014\016-\037' | awk 'NR>1{printf "\\n"} {printf "%s", $0}'
  printf '"'
}
# osiris_qlist: stdin lines as a JSON array of strings (empty lines skipped)
osiris_qlist() {
  osiris_first=1; printf '['
  while IFS= read -r osiris_line; do
    [ -n "$osiris_line" ] || continue
    [ "$osiris_first" = 1 ] || printf ','
    osiris_first=0; osiris_q "$osiris_line"
  done
  printf ']'
}
# osiris_int VALUE: VALUE if it is an integer, else null
osiris_int() {
  case "$1" in ''|*[!0-9-]*|?*-*) printf 'null' ;; *) printf '%s' "$1" ;; esac
}
# osiris_bool COMMAND...: true if COMMAND succeeds, else false
osiris_bool() { if "$@" >/dev/null 2>&1; then printf 'true'; else printf 'false'; fi; }
# osiris_has COMMAND: true if COMMAND is installed
osiris_has() { command -v "$1" >/dev/null 2>&1; }
"""

_SH_RUNNER = r"""
osiris_tmp=$(mktemp -d 2>/dev/null) || { osiris_tmp=/tmp/osiris.$$; mkdir -m 700 "$osiris_tmp"; }
trap 'rm -rf "$osiris_tmp"' EXIT
osiris_ms() { date +%s%3N 2>/dev/null || echo 0; }
osiris_check() {
  osiris_id=$1; osiris_limit=$2; shift 2
  cat > "$osiris_tmp/$osiris_id.sh"
  for osiris_req in "$@"; do
    if ! command -v "$osiris_req" >/dev/null 2>&1; then
      printf '@@osiris %s missing %s %s\n' "$osiris_nonce" "$osiris_id" "$osiris_req"; return 0
    fi
  done
  printf '@@osiris %s begin %s\n' "$osiris_nonce" "$osiris_id"
  osiris_t0=$(osiris_ms)
  OSIRIS_UNREADABLE="$osiris_tmp/$osiris_id.unreadable"; export OSIRIS_UNREADABLE
  if command -v timeout >/dev/null 2>&1; then
    timeout -k 2 "$osiris_limit" sh -c '. "$1"; . "$2"' osiris "$osiris_tmp/lib.sh" \
      "$osiris_tmp/$osiris_id.sh" </dev/null 2>"$osiris_tmp/$osiris_id.err"
  else
    sh -c '. "$1"; . "$2"' osiris "$osiris_tmp/lib.sh" "$osiris_tmp/$osiris_id.sh" \
      </dev/null 2>"$osiris_tmp/$osiris_id.err"
  fi
  osiris_rc=$?
  printf '\n@@osiris %s end %s %s %s\n' "$osiris_nonce" "$osiris_id" "$osiris_rc" \
    "$(( $(osiris_ms) - osiris_t0 ))"
  if [ -s "$OSIRIS_UNREADABLE" ]; then
    sort -u "$OSIRIS_UNREADABLE" | while IFS= read -r osiris_what; do
      printf '@@osiris %s unreadable %s %s\n' "$osiris_nonce" "$osiris_id" "$osiris_what"
    done
  fi
  if [ -s "$osiris_tmp/$osiris_id.err" ]; then
    printf '@@osiris %s stderr %s %s\n' "$osiris_nonce" "$osiris_id" \
      "$(tail -c 300 "$osiris_tmp/$osiris_id.err" | tr '\n\r' '  ')"
  fi
}
"""

_PS_RUNNER = r"""
$ProgressPreference = 'SilentlyContinue'
$script:osirisUnreadable = @()
# Add-OsirisUnreadable WHAT: WHAT exists but could not be read; the check becomes error
function Add-OsirisUnreadable {
    param([string]$What)
    $script:osirisUnreadable += ($What -replace '[\r\n]+', ' ')
}
function Invoke-OsirisCheck {
    param([string]$Id, [string[]]$Requires, [scriptblock]$Probe)
    foreach ($command in $Requires) {
        if (-not (Get-Command -Name $command -ErrorAction SilentlyContinue)) {
            "@@osiris $osirisNonce missing $Id $command"
            return
        }
    }
    "@@osiris $osirisNonce begin $Id"
    $script:osirisUnreadable = @()
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $code = 0
    $problem = $null
    try {
        $ErrorActionPreference = 'Stop'
        $facts = & $Probe
        ConvertTo-Json -InputObject $facts -Compress -Depth 8
    } catch {
        $code = 1
        $problem = ($_.Exception.Message -replace '\s+', ' ')
    }
    ''
    "@@osiris $osirisNonce end $Id $code $($watch.ElapsedMilliseconds)"
    if ($problem) { "@@osiris $osirisNonce stderr $Id $problem" }
    foreach ($what in ($script:osirisUnreadable | Sort-Object -Unique)) {
        "@@osiris $osirisNonce unreadable $Id $what"
    }
}
"""


def new_nonce() -> str:
    return secrets.token_hex(8)


def build_bundle(platform: Platform, checks: Sequence[Check], nonce: str) -> str:
    """The one script that probes ``checks`` on a host of ``platform``."""
    if platform is Platform.WINDOWS:
        return _powershell_bundle(checks, nonce)
    return _sh_bundle(checks, nonce)


def _sh_bundle(checks: Sequence[Check], nonce: str) -> str:
    parts = [
        f"#!/bin/sh\n{BUNDLE_MARKER}\nosiris_nonce={nonce}\n{_SH_PATH}",
        _SH_RUNNER,
        f"cat > \"$osiris_tmp/lib.sh\" <<'OSIRIS_LIB_{nonce}'\n{SH_LIBRARY}\nOSIRIS_LIB_{nonce}\n",
    ]
    for check in checks:
        requires = " ".join(_sh_word(r) for r in check.spec.applies.requires)
        parts.append(
            f"{PROBE_MARKER} {check.id}\n"
            f"osiris_check {check.id} {check.spec.probe.timeout} {requires} <<'OSIRIS_{nonce}'\n"
            f"{check.spec.probe.script.rstrip()}\nOSIRIS_{nonce}\n"
        )
    return "".join(parts)


def _sh_word(word: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.+/-]+", word):
        raise ValueError(f"unsafe command name {word!r}")
    return word


def _powershell_bundle(checks: Sequence[Check], nonce: str) -> str:
    parts = [f"{BUNDLE_MARKER}\n$osirisNonce = '{nonce}'\n", _PS_RUNNER]
    for check in checks:
        requires = ", ".join(f"'{r}'" for r in check.spec.applies.requires)
        parts.append(
            f"{PROBE_MARKER} {check.id}\n"
            f"Invoke-OsirisCheck -Id '{check.id}' -Requires @({requires}) -Probe {{\n"
            f"{check.spec.probe.script.rstrip()}\n}}\n"
        )
    return "".join(parts)


@dataclass(frozen=True)
class ProbeOutput:
    """What the bundle said about one check: facts, a missing command, or a failure.

    ``unreadable`` lists what the probe could not read; the facts then carry it too, as
    the reserved fact ``_unreadable``."""

    facts: dict[str, object] | None = None
    missing: str | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    unreadable: tuple[str, ...] = ()


def parse_output(stdout: str, nonce: str, check_ids: Sequence[str]) -> dict[str, ProbeOutput]:
    """Split bundle output into per-check outcomes; every id in ``check_ids`` gets one."""
    prefix = f"@@osiris {nonce} "
    bodies: dict[str, list[str]] = {}
    ends: dict[str, tuple[int, float]] = {}
    stderr: dict[str, str] = {}
    missing: dict[str, str] = {}
    unreadable: dict[str, list[str]] = {}
    current: str | None = None
    for line in stdout.splitlines():
        if not line.startswith(prefix):
            if current is not None:
                bodies[current].append(line)
            continue
        kind, _, rest = line[len(prefix) :].partition(" ")
        check_id, _, detail = rest.partition(" ")
        if kind == "begin":
            current = check_id
            bodies[check_id] = []
        elif kind == "end" and check_id == current:
            code, _, elapsed = detail.partition(" ")
            ends[check_id] = (_int(code, -1), float(_int(elapsed, 0)))
            current = None
        elif kind == "stderr":
            stderr[check_id] = detail.strip()
        elif kind == "missing":
            missing[check_id] = detail.strip()
        elif kind == "unreadable" and detail.strip():
            unreadable.setdefault(check_id, []).append(detail.strip())
    outcomes = {
        check_id: _outcome(check_id, bodies, ends, stderr, missing) for check_id in check_ids
    }
    return {
        check_id: _with_unreadable(outcome, tuple(unreadable.get(check_id, ())))
        for check_id, outcome in outcomes.items()
    }


def _with_unreadable(outcome: ProbeOutput, unreadable: tuple[str, ...]) -> ProbeOutput:
    """Attach what the probe could not read; an error then says that first."""
    if not unreadable or outcome.missing is not None:
        return outcome
    if outcome.facts is None:
        error = f"{unreadable_reason(list(unreadable))} ({outcome.error})"
        return ProbeOutput(error=error, elapsed_ms=outcome.elapsed_ms, unreadable=unreadable)
    facts = {**outcome.facts, UNREADABLE_FACT: list(unreadable)}
    return ProbeOutput(facts=facts, elapsed_ms=outcome.elapsed_ms, unreadable=unreadable)


def _outcome(
    check_id: str,
    bodies: dict[str, list[str]],
    ends: dict[str, tuple[int, float]],
    stderr: dict[str, str],
    missing: dict[str, str],
) -> ProbeOutput:
    if check_id in missing:
        return ProbeOutput(missing=missing[check_id])
    if check_id not in bodies:
        return ProbeOutput(error="the probe bundle stopped before this check ran")
    if check_id not in ends:
        return ProbeOutput(error="probe output was cut off (no end frame)")
    code, elapsed = ends[check_id]
    detail = f": {stderr[check_id]}" if check_id in stderr else ""
    if code == 124:
        return ProbeOutput(error=f"probe timed out{detail}", elapsed_ms=elapsed)
    if code != 0:
        return ProbeOutput(error=f"probe exited {code}{detail}", elapsed_ms=elapsed)
    text = "\n".join(bodies[check_id]).strip()
    try:
        facts = json.loads(text)
    except json.JSONDecodeError as exc:
        snippet = text[:80].replace("\n", " ")
        return ProbeOutput(
            error=f"probe output is not JSON ({exc.msg}): {snippet!r}", elapsed_ms=elapsed
        )
    if not isinstance(facts, dict):
        return ProbeOutput(error="probe output is not a JSON object", elapsed_ms=elapsed)
    return ProbeOutput(facts=facts, elapsed_ms=elapsed)


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default
