"""How the WinRM twin runs a Windows runbook: a registry of simulations, keyed by id.

The runbooks themselves are the repository's ``playbooks/windows/<id>.ps1``; the twin
holds no PowerShell. A runbook script names itself on its first line,
``# osiris:runbook <id>``. Windows cannot run here, so the twin does not run the
script: it applies the Python function registered for that id (``@simulates(id)``) to
the host's ``WindowsState``, saves the state under the state file's lock, and prints
what the script prints on Windows: ``changed: ...`` per change, or ``unchanged: ...``.

A function raises ``RunbookFailure`` where the script throws: the twin then prints the
lines printed before the throw, writes a Windows PowerShell error record on stderr and
exits 1, keeping the changes made up to that point (as Windows would). An id the twin
does not simulate gets such an error too. The simulations live in ``runbooks.py``,
``runbooks_network.py``, ``runbooks_policy.py`` and ``runbooks_system.py``; importing
``runbooks`` registers them all.

A runbook arrives after the shared PowerShell (playbooks/windows/lib/osiris.ps1) and the
line ``$OsirisCheckMode = $true|$false`` (osiris.heal.powershell). The twin reads:

- ``$osiris_name = '<json>' | ConvertFrom-Json`` (osiris.heal.powershell): what the
  runbook follows or takes from the site. A simulation registered with
  ``variables=("osiris_name", ...)`` gets each as a keyword argument without the
  ``osiris_`` prefix; one the script does not set is None (PowerShell's $null).
- ``$OsirisCheckMode = $true``: check mode. The simulation runs on a copy of the state,
  which is not saved: the same lines, nothing changed. Where the script's check mode
  prints something else than a real run (it cannot know the outcome without acting),
  ``@simulates(id, check_mode=True)`` registers what it prints.
- ``Register-OsirisGuard -Name ... -Seconds ... -Save @(...)`` (osiris's lockout guard,
  see ``guard.py``): armed before the runbook, in the same save.
- a function ``Verb-Osiris...`` the script calls but does not define (the runbook sent
  without lib/osiris.ps1): PowerShell's "is not recognized" error, nothing changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import guard
from .state import WindowsState

RUNBOOK_MARKER = "# osiris:runbook"
CRLF = "\r\n"
_MARKER = re.compile(r"^# osiris:runbook (\S+)\s*$", re.MULTILINE)
_VARIABLE = re.compile(r"^\$(osiris_\w+) = '(.*)' \| ConvertFrom-Json\s*$", re.MULTILINE)
_CHECK_MODE = re.compile(r"^\$OsirisCheckMode = \$(true|false)\s*$", re.MULTILINE | re.IGNORECASE)
_DEFINED = re.compile(r"^\s*function ([A-Za-z]+-Osiris\w*)", re.MULTILINE | re.IGNORECASE)
_CALLED = re.compile(r"(?<![\w-])([A-Z][a-z]+-Osiris\w*)")

Apply = Callable[..., list[str]]  # (state, now, **variables)
Result = tuple[str, str, int]


class RunbookFailure(Exception):
    """The script would throw here.

    ``message`` is what PowerShell prints; ``near`` is text of the script line that
    throws (the twin reports that line, and refuses a script without it, so the
    simulation and the script cannot drift apart); ``command`` names the cmdlet whose
    error it is (None: a ``throw`` statement); ``printed`` is what the script printed
    before it threw.
    """

    def __init__(
        self,
        message: str,
        *,
        near: str,
        command: str | None = None,
        printed: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.near = near
        self.command = command
        self.printed = list(printed or [])


@dataclass(frozen=True)
class Simulation:
    """What running the runbook ``id`` does to a host: ``apply(state, now, **values)``
    (``values``: the script's ``variables``); ``check`` is what its check mode prints,
    where that differs (None: ``apply`` on a copy)."""

    id: str
    apply: Apply
    check: Apply | None = None
    variables: tuple[str, ...] = ()


SIMULATIONS: dict[str, Simulation] = {}


def simulates(
    runbook_id: str, *, check_mode: bool = False, variables: tuple[str, ...] = ()
) -> Callable[[Apply], Apply]:
    """Register the function that simulates the runbook ``runbook_id`` (or, with
    ``check_mode``, what its check mode prints; register the runbook first), given the
    script's ``variables``."""

    def register(function: Apply) -> Apply:
        known = SIMULATIONS.get(runbook_id)
        if check_mode:
            if known is None or known.check is not None:
                raise ValueError(f"check mode of {runbook_id}: no simulation, or two")
            SIMULATIONS[runbook_id] = Simulation(runbook_id, known.apply, function, known.variables)
        elif known is not None:
            raise ValueError(f"two simulations of runbook {runbook_id}")
        else:
            SIMULATIONS[runbook_id] = Simulation(runbook_id, function, variables=variables)
        return function

    return register


def runbook_id(script: str) -> str | None:
    """The id on the script's ``# osiris:runbook <id>`` line, if it has one."""
    found = _MARKER.search(script)
    return found.group(1) if found else None


def run_runbook(state_path: Path, script: str, now: datetime) -> Result:
    """``(stdout, stderr, exit_code)`` of the runbook ``script`` on the host in ``state_path``."""
    name = runbook_id(script)
    simulation = SIMULATIONS.get(name or "")
    if name is None or simulation is None:
        message = f"The WinRM twin does not simulate runbook '{name}'."
        return (
            "",
            error_record(
                script,
                message,
                near=RUNBOOK_MARKER,
                category="NotImplemented",
                error_id="RunbookNotSimulated",
                exception="NotSupportedException",
            ),
            1,
        )
    missing = undefined_functions(script)
    if missing:
        return "", command_not_found(script, missing[0]), 1
    failure: RunbookFailure | None = None
    set_in_script = script_variables(script)
    values = {
        name.removeprefix("osiris_"): set_in_script.get(name) for name in simulation.variables
    }
    if check_mode(script):
        apply = simulation.check or simulation.apply
        state = WindowsState.load(state_path)  # a copy: never saved
        try:
            printed = apply(state, now, **values)
        except RunbookFailure as exc:
            failure, printed = exc, exc.printed
    else:
        with WindowsState.update(state_path) as state:
            armed = guard.arm_request(script)
            printed = [] if armed is None else [guard.arm(state, *armed, now)]
            try:
                printed += simulation.apply(state, now, **values)
            except RunbookFailure as exc:
                failure, printed = exc, printed + exc.printed
    stdout = "".join(line + CRLF for line in printed)
    if failure is None:
        return stdout, "", 0
    if failure.near not in script:  # the simulation no longer matches the script
        mismatch = (
            f"The WinRM twin's {name} throws at {failure.near!r}; the script has no such line."
        )
        return stdout, mismatch + CRLF, 1
    return stdout, _failure_record(script, failure), 1


def ps_int(value: Any) -> int:
    """``[int]$value`` in PowerShell: an unset variable ($null) is 0."""
    return 0 if value is None else int(value)


def script_variables(script: str) -> dict[str, Any]:
    """The ``$osiris_...`` variables the script sets, with their values."""
    return {name: json.loads(text.replace("''", "'")) for name, text in _VARIABLE.findall(script)}


def check_mode(script: str) -> bool:
    """Whether the script sets ``$OsirisCheckMode = $true`` (unset: a real run)."""
    found = _CHECK_MODE.search(script)
    return found is not None and found.group(1).lower() == "true"


def undefined_functions(script: str) -> list[str]:
    """The ``Verb-Osiris...`` functions ``script`` calls without defining them."""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    defined = {name.lower() for name in _DEFINED.findall(code)}
    called = dict.fromkeys(name for name in _CALLED.findall(code) if name.lower() not in defined)
    return list(called)


def command_not_found(script: str, name: str) -> str:
    """PowerShell's error for a call to ``name``, which no loaded function defines."""
    return error_record(
        script,
        f"{name} : The term '{name}' is not recognized as the name of a cmdlet, function, "
        "script file, or operable program. Check the spelling of the name, or if a path "
        "was included, verify that the path is correct and try again.",
        near=name,
        category="ObjectNotFound",
        error_id="CommandNotFoundException",
        exception="CommandNotFoundException",
        target=name,
    )


def _failure_record(script: str, failure: RunbookFailure) -> str:
    if failure.command is None:  # throw "..."
        return error_record(
            script,
            failure.message,
            near=failure.near,
            category="OperationStopped",
            error_id=failure.message,
            exception="RuntimeException",
        )
    return error_record(
        script,
        f"{failure.command} : {failure.message}",
        near=failure.near,
        category="NotSpecified",
        error_id=f"{failure.command}Failed,{failure.command}",
        exception="CimException",
        target=failure.command,
    )


def error_record(
    script: str,
    message: str,
    *,
    near: str,
    category: str,
    error_id: str,
    exception: str,
    target: str = "",
) -> str:
    """A terminating error as ``powershell.exe`` writes it to stderr, pointing at the
    first script line that contains ``near``."""
    lines = script.splitlines() or [""]
    number = next((i for i, line in enumerate(lines) if near in line), 0)
    line = lines[number]
    column = len(line) - len(line.lstrip())
    width = max(len(line.strip()), 1)
    reason = message.split(" : ", 1)[-1]
    return CRLF.join(
        [
            message,
            f"At line:{number + 1} char:{column + 1}",
            f"+ {line}",
            "+ " + " " * column + "~" * width,
            f"    + CategoryInfo          : {category}: ({reason}:String) [{target}], {exception}",
            f"    + FullyQualifiedErrorId : {error_id}",
            "",
        ]
    )


def shown(value: object) -> str:
    """How PowerShell's ``"$value"`` prints a value: ``$null`` is empty, booleans True/False."""
    if value is None:
        return ""
    return str(value)


def before(value: object) -> str:
    """A registry value as the runbooks print it: ``unset`` when it does not exist."""
    return shown(value) or "unset"
