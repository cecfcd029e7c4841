"""How a Windows runbook is sent: one PowerShell script, assembled in this order

    lib/osiris.ps1                  functions the runbooks share (secedit, DWORDs, ...)
    $OsirisCheckMode = $false       $true for a dry run: print what would change, change nothing
    $osiris_min_length = '16' | ConvertFrom-Json
                                    one line per variable the runbook follows or takes
                                    from the site (osiris.heal.variables), in JSON
    guard_windows.ps1 + arm call    osiris only, before a change that could cut it off
    <id>.ps1                        the runbook

The lib is the one beside the runbook (``playbooks/windows/lib/osiris.ps1``). Ansible
users get the same script from ``playbooks/windows/lib/run_runbook.yml``, with the
check-mode line from ``--check``, the variables from the play's vars and no guard.
Every runbook prints ``changed: <what> <before> -> <after>`` per change (in check mode:
per change it would make) or one ``unchanged: ...`` line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from osiris.heal.guard import Guard, windows_prelude
from osiris.heal.runbooks import WINDOWS_LIB, Runbook

CHANGED = "changed: "


def lib_path(script: Path) -> Path:
    """The shared PowerShell sent before the runbook ``script``."""
    return script.parent / WINDOWS_LIB


def runbook_script(
    runbook: Runbook,
    *,
    check_mode: bool,
    guard: Guard | None = None,
    variables: Mapping[str, Any] | None = None,
) -> str:
    """The script osiris sends over WinRM for ``runbook`` (a Windows runbook);
    ``variables`` override the play's defaults of what it follows and takes."""
    if runbook.script is None:
        raise ValueError(f"{runbook.id} is not a PowerShell runbook")
    if check_mode and guard is not None:
        raise ValueError("check mode changes nothing: it needs no lockout guard")
    parts = [
        lib_path(runbook.script).read_text(encoding="utf-8-sig").rstrip(),
        f"$OsirisCheckMode = {'$true' if check_mode else '$false'}",
        *variable_lines(runbook, variables or {}),
    ]
    if guard is not None:
        parts.append(windows_prelude(guard, runbook.spec.touches).rstrip())
    parts.append(runbook.script.read_text(encoding="utf-8-sig").rstrip())
    return "\n".join(parts) + "\n"


def variable_lines(runbook: Runbook, variables: Mapping[str, Any]) -> list[str]:
    """``$name = '<json>' | ConvertFrom-Json`` for each variable the runbook follows or
    takes from the site: JSON in a single-quoted string, so no value can break out into
    code (lib/assemble.yml writes the same bytes for Ansible users)."""
    lines = []
    for name, value in runbook.site_values(variables).items():
        text = json.dumps(value, separators=(",", ":")).replace("'", "''")
        lines.append(f"${name} = '{text}' | ConvertFrom-Json")
    return lines


def changes(stdout: str) -> list[str]:
    """What a runbook changed (or in check mode would change), one line each, from its
    ``changed:`` lines (not a substring test: ``unchanged:`` lines are not changes)."""
    return [
        line[len(CHANGED) :].strip() for line in stdout.splitlines() if line.startswith(CHANGED)
    ]
