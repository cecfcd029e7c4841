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
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .state import WindowsState

RUNBOOK_MARKER = "# osiris:runbook"
CRLF = "\r\n"
_MARKER = re.compile(r"^# osiris:runbook (\S+)\s*$", re.MULTILINE)

Apply = Callable[[WindowsState, datetime], list[str]]
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
    """What running the runbook ``id`` does to a host: ``apply(state, now)``."""

    id: str
    apply: Apply


SIMULATIONS: dict[str, Simulation] = {}


def simulates(runbook_id: str) -> Callable[[Apply], Apply]:
    """Register the function that simulates the runbook ``runbook_id``."""

    def register(function: Apply) -> Apply:
        if runbook_id in SIMULATIONS:
            raise ValueError(f"two simulations of runbook {runbook_id}")
        SIMULATIONS[runbook_id] = Simulation(runbook_id, function)
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
    failure: RunbookFailure | None = None
    with WindowsState.update(state_path) as state:
        try:
            printed = simulation.apply(state, now)
        except RunbookFailure as exc:
            failure, printed = exc, exc.printed
    stdout = "".join(line + CRLF for line in printed)
    if failure is None:
        return stdout, "", 0
    if failure.near not in script:  # the simulation no longer matches the script
        mismatch = (
            f"The WinRM twin's {name} throws at {failure.near!r}; the script has no such line."
        )
        return stdout, mismatch + CRLF, 1
    return stdout, _failure_record(script, failure), 1


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
