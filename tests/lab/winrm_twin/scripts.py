"""The PowerShell side of the WinRM twin: answers Osiris's scripts from a simulated state.

This stands in for Windows, which cannot run here. No PowerShell is executed: the twin
recognises the few kinds of script Osiris sends and answers them from the
``WindowsState`` in a JSON file (see state.py), the way a Windows host in that state
would:

- a probe bundle (the line ``# osiris probe bundle v1``, built by
  ``osiris.scan.bundle.build_bundle``): for each ``# osiris:probe <id>`` section it
  prints exactly the frames the bundle's ``Invoke-OsirisCheck`` prints on Windows, with
  CRLF line ends: ``missing`` when a command named in ``-Requires @(...)`` is not in the
  state's ``available_cmdlets``; otherwise ``begin``, the compact JSON of the facts from
  ``answers.ANSWERS[id]``, an empty line and ``end <id> 0 <ms>``. A probe that would
  throw, or whose id has no answer, gets ``end <id> 1 <ms>`` and a ``stderr`` frame.
- a runbook (``# osiris:runbook <id>``, one of playbooks/windows/*.ps1): applies the
  simulation registered for that id (``runbooks``) to the state, saves it, and prints
  what changed; an id it does not simulate gets a PowerShell error and exit code 1.
  In check mode it prints the same and saves nothing (see ``runbook_base``).
- osiris's lockout guard (``guard``): a runbook may arm one; ``Unregister-OsirisGuard``
  disarms it. Before any script, and before letting a connection in (``admits``), the
  twin runs the revert of every guard whose time has come.
- anything else: PowerShell's "is not recognized" error on stderr, exit code 1.

``handler.WindowsHandler`` puts this behind ``TwinServer``, so the real WinRM transport
reaches it over WS-Management.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from osiris.scan.bundle import BUNDLE_MARKER

from . import guard
from .answers import ANSWERS, ProbeError
from .runbooks import run_runbook, runbook_id
from .state import WindowsState, now_utc

CRLF = "\r\n"
_NONCE = re.compile(r"^\$osirisNonce = '([^']*)'\s*$", re.MULTILINE)
_PROBE = re.compile(
    r"^# osiris:probe \S+\r?\n"
    r"Invoke-OsirisCheck -Id '(?P<id>[^']*)' -Requires @\((?P<requires>[^)]*)\) -Probe \{",
    re.MULTILINE,
)
_WORD = re.compile(r"[^\s(){};|&]+")
# ConvertTo-Json in Windows PowerShell 5.1 escapes these inside strings.
_PS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}

Result = tuple[str, str, int]


@dataclass(frozen=True)
class _Probe:
    check_id: str
    requires: tuple[str, ...]


class WindowsTwin:
    """Runs scripts "on" the Windows host whose state is in ``state_path``.

    The state is re-read for every script, so tests and runbooks may change it between
    calls. ``clock`` gives "now" for ages computed by probes (signature age, ...).
    """

    def __init__(self, state_path: Path, *, clock: Callable[[], datetime] = now_utc) -> None:
        self._state_path = Path(state_path)
        self._clock = clock

    def run_powershell(self, script: str) -> Result:
        """``(stdout, stderr, exit_code)`` of ``script`` as Windows PowerShell 5.1 would give."""
        self._fire_due_guards()
        lines = [line.strip() for line in script.splitlines()]
        if BUNDLE_MARKER in lines:
            return self._run_bundle(script)
        if runbook_id(script) is not None:
            return run_runbook(self._state_path, script, self._clock())
        disarmed = guard.disarm_request(script)
        if disarmed is not None:
            with WindowsState.update(self._state_path) as state:
                return guard.disarm(state, disarmed) + CRLF, "", 0
        return "", not_recognized(script), 1

    def admits(self, scheme: str) -> bool:
        """Whether a new WinRM connection over ``scheme`` (http, https) gets in now."""
        self._fire_due_guards()
        return guard.admits(WindowsState.load(self._state_path), scheme)

    def _fire_due_guards(self) -> None:
        state = WindowsState.load(self._state_path)
        if any(not g.Reverted for g in state.osiris_guards):
            with WindowsState.update(self._state_path) as state:
                guard.fire_due(state, self._clock())

    # -- bundles ------------------------------------------------------------------------

    def _run_bundle(self, script: str) -> Result:
        nonce = _NONCE.search(script)
        if nonce is None:
            return "", "The probe bundle has no $osirisNonce line." + CRLF, 1
        state = WindowsState.load(self._state_path)
        now = self._clock()
        out: list[str] = []
        for probe in _probes(script):
            out += _frames(probe, state, now, nonce.group(1))
        return "".join(line + CRLF for line in out), "", 0


def _probes(script: str) -> list[_Probe]:
    return [
        _Probe(m.group("id"), tuple(re.findall(r"'([^']*)'", m.group("requires"))))
        for m in _PROBE.finditer(script)
    ]


def _frames(probe: _Probe, state: WindowsState, now: datetime, nonce: str) -> list[str]:
    """What ``Invoke-OsirisCheck`` prints for one probe."""
    prefix = f"@@osiris {nonce}"
    for command in probe.requires:
        if not state.has_command(command):
            return [f"{prefix} missing {probe.check_id} {command}"]
    started = time.monotonic()
    body, problem = _facts_json(probe.check_id, state, now)
    elapsed = int((time.monotonic() - started) * 1000)
    lines = [f"{prefix} begin {probe.check_id}", *body, ""]
    lines.append(f"{prefix} end {probe.check_id} {0 if problem is None else 1} {elapsed}")
    if problem is not None:
        lines.append(f"{prefix} stderr {probe.check_id} {problem}")
    return lines


def _facts_json(check_id: str, state: WindowsState, now: datetime) -> tuple[list[str], str | None]:
    answer = ANSWERS.get(check_id)
    if answer is None:
        return [], f"the probe of {check_id} is not simulated by the WinRM twin"
    try:
        facts = answer(state, now)
    except ProbeError as exc:
        return [], re.sub(r"\s+", " ", str(exc))
    return [powershell_json(facts)], None


def powershell_json(value: Any) -> str:
    """``ConvertTo-Json -Compress`` as Windows PowerShell 5.1 writes it.

    Whole doubles print without a fraction (100.0 -> 100) and ``< > & '`` are escaped.
    """
    text = json.dumps(_whole_numbers(value), ensure_ascii=False, separators=(",", ":"))
    for char, escape in _PS_ESCAPES.items():
        text = text.replace(char, escape)  # only strings can hold these characters
    return text


def _whole_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def not_recognized(script: str) -> str:
    """PowerShell's error for a script whose first command does not exist here."""
    for number, line in enumerate(script.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        word = _WORD.search(line)
        assert word is not None  # a non-blank line has a word
        name, column = word.group(0), word.start() + 1
        return CRLF.join(
            [
                f"{name} : The term '{name}' is not recognized as the name of a cmdlet, "
                "function, script file, or operable program. Check the spelling of the "
                "name, or if a path was included, verify that the path is correct and "
                "try again.",
                f"At line:{number} char:{column}",
                f"+ {line}",
                "+ " + " " * (column - 1) + "~" * len(name),
                f"    + CategoryInfo          : ObjectNotFound: ({name}:String) [], "
                "CommandNotFoundException",
                "    + FullyQualifiedErrorId : CommandNotFoundException",
                "",
            ]
        )
    return "The WinRM twin was sent an empty script." + CRLF
