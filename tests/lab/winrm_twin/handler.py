"""From WinRM commands to the simulated Windows host.

Osiris (like Ansible) starts ``powershell.exe -EncodedCommand <bootstrap>`` and sends the
real script on stdin; ``run_ps`` style callers put the whole script in the encoded
command. Either way the script goes to :class:`WindowsTwin`, which answers from the
state file. Anything that is not PowerShell gets cmd.exe's error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tests.lab.winrm_twin.commands import decode_powershell
from tests.lab.winrm_twin.scripts import WindowsTwin
from tests.lab.winrm_twin.state import now_utc

BOOTSTRAP_MARKER = "# osiris:bootstrap"


class WindowsHandler:
    """A CommandHandler (and StdinCommandHandler) for one twin."""

    def __init__(self, state_path: Path, *, clock: Callable[[], datetime] = now_utc) -> None:
        self._twin = WindowsTwin(state_path, clock=clock)

    def run(self, command: str, arguments: list[str]) -> tuple[str, str, int]:
        return self.run_with_stdin(command, arguments, b"")

    def admits(self, scheme: str) -> bool:
        """The twin server's ``admit``: WinRM, its listeners and the firewall let it in."""
        return self._twin.admits(scheme)

    def run_with_stdin(
        self, command: str, arguments: list[str], stdin: bytes
    ) -> tuple[str, str, int]:
        script = decode_powershell(command, arguments)
        if script is None:
            name = (command.split() or [""])[0]
            return "", _cmd_not_found(name), 1
        if script.lstrip().startswith(BOOTSTRAP_MARKER):
            script = stdin.decode("utf-8", "replace")
        return self._twin.run_powershell(script)


def _cmd_not_found(name: str) -> str:
    return (
        f"'{name}' is not recognized as an internal or external command,\r\n"
        "operable program or batch file.\r\n"
    )
