"""The registry of Windows runbooks the WinRM twin can simulate, keyed by runbook id.

A runbook script names itself on a line ``# osiris:runbook <id>``. Windows cannot run
here, so the twin does not run the PowerShell: it applies the registered Python function
to the host's ``WindowsState`` (saved back under the state file's lock) and prints the
same lines the script prints on Windows: ``changed: ...`` per change, or one
``unchanged: ...`` line. Each ``Runbook`` carries its PowerShell script (parsed by
tests/unit/test_powershell_parse.py) and the check whose re-run must pass afterwards.
The runbooks live in ``runbooks.py``, ``runbooks_network.py`` and ``runbooks_policy.py``;
importing ``runbooks`` registers them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .state import WindowsState

RUNBOOK_MARKER = "# osiris:runbook"


@dataclass(frozen=True)
class Runbook:
    """A simulated runbook: what it fixes, its PowerShell, its effect on the state."""

    id: str
    fixes: str  # the check id that must pass after the runbook ran
    script: str
    apply: Callable[[WindowsState], list[str]]  # changes the state; returns printed lines


RUNBOOKS: dict[str, Runbook] = {}


def register(runbook: Runbook) -> None:
    """Add ``runbook``; its script must start with its marker line."""
    if not runbook.script.startswith(f"{RUNBOOK_MARKER} {runbook.id}\n"):
        raise ValueError(f"runbook {runbook.id}: the script must start with its marker line")
    if runbook.id in RUNBOOKS:
        raise ValueError(f"two runbooks named {runbook.id}")
    RUNBOOKS[runbook.id] = runbook


def shown(value: object) -> str:
    """How PowerShell's ``"$value"`` prints a value: ``$null`` is empty, booleans True/False."""
    if value is None:
        return ""
    return str(value)
