"""How a Windows runbook is sent: one PowerShell script, assembled in this order

    lib/osiris.ps1                  functions the runbooks share (secedit, DWORDs, ...)
    $OsirisCheckMode = $false       $true for a dry run: print what would change, change nothing
    guard_windows.ps1 + arm call    osiris only, before a change that could cut it off
    <id>.ps1                        the runbook

The lib is the one beside the runbook (``playbooks/windows/lib/osiris.ps1``). Ansible
users get the same script from ``playbooks/windows/lib/run_runbook.yml``, with the
check-mode line from ``--check`` and no guard. Every runbook prints ``changed: <what>
<before> -> <after>`` per change (in check mode: per change it would make) or one
``unchanged: ...`` line.
"""

from __future__ import annotations

from pathlib import Path

from osiris.heal.guard import Guard, windows_prelude
from osiris.heal.runbooks import WINDOWS_LIB, Runbook

CHANGED = "changed: "


def lib_path(script: Path) -> Path:
    """The shared PowerShell sent before the runbook ``script``."""
    return script.parent / WINDOWS_LIB


def runbook_script(runbook: Runbook, *, check_mode: bool, guard: Guard | None = None) -> str:
    """The script osiris sends over WinRM for ``runbook`` (a Windows runbook)."""
    if runbook.script is None:
        raise ValueError(f"{runbook.id} is not a PowerShell runbook")
    if check_mode and guard is not None:
        raise ValueError("check mode changes nothing: it needs no lockout guard")
    parts = [
        lib_path(runbook.script).read_text(encoding="utf-8-sig").rstrip(),
        f"$OsirisCheckMode = {'$true' if check_mode else '$false'}",
    ]
    if guard is not None:
        parts.append(windows_prelude(guard, runbook.spec.touches).rstrip())
    parts.append(runbook.script.read_text(encoding="utf-8-sig").rstrip())
    return "\n".join(parts) + "\n"


def changes(stdout: str) -> list[str]:
    """What a runbook changed (or in check mode would change), one line each, from its
    ``changed:`` lines (not a substring test: ``unchanged:`` lines are not changes)."""
    return [
        line[len(CHANGED) :].strip() for line in stdout.splitlines() if line.startswith(CHANGED)
    ]
