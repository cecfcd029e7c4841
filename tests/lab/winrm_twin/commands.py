"""What the twin does with a command: the pluggable handler and a decoding helper.

The twin never interprets commands itself. For each WinRS Command it calls a
`CommandHandler` with the command line exactly as the client sent it. Handlers
that understand PowerShell use `decode_powershell` to recover the script that
`winrm.Session.run_ps` (or Ansible) encoded.
"""

from __future__ import annotations

import base64
import binascii
import ntpath
import shlex
from typing import Protocol, runtime_checkable

POWERSHELL_EXECUTABLES = frozenset({"powershell", "powershell.exe", "pwsh", "pwsh.exe"})
_ENCODED_COMMAND = "encodedcommand"
_ENCODED_COMMAND_ALIASES = frozenset({"ec"})


class CommandHandler(Protocol):
    """Runs one command on behalf of the twin.

    `command` is the text of `rsp:Command` and `arguments` the texts of the
    `rsp:Arguments` elements, undecoded. Note that pywinrm joins all arguments
    into one `rsp:Arguments` element, and `Session.run_ps` sends everything in
    `command` ("powershell -encodedcommand <base64>") with no arguments.
    Returns `(stdout, stderr, exit_code)`.
    """

    def run(self, command: str, arguments: list[str]) -> tuple[str, str, int]: ...


@runtime_checkable
class StdinCommandHandler(Protocol):
    """Optional extension for handlers that accept stdin sent with WinRS Send.

    Clients such as Ansible's winrm plugin stream a payload to the command's
    stdin before reading output. If a client sends stdin and the handler does
    not implement this, the twin answers the Send with a SOAP fault.
    """

    def run_with_stdin(
        self, command: str, arguments: list[str], stdin: bytes
    ) -> tuple[str, str, int]: ...


def decode_powershell(command: str, arguments: list[str]) -> str | None:
    """Return the script of a `powershell -EncodedCommand <b64>` command line.

    Accepts powershell/powershell.exe/pwsh/pwsh.exe (any case, with or without
    a path) and any case or unambiguous abbreviation of -EncodedCommand
    (-e, -enc, -ec, ...), prefixed with -, -- or /. The command line may be
    split between `command` and `arguments` in any way. Returns None when the
    command is not PowerShell, has no encoded command, or the payload is not
    base64 of UTF-16LE text.
    """
    tokens = _split_command_line(" ".join([command, *arguments]))
    if not tokens or ntpath.basename(tokens[0]).lower() not in POWERSHELL_EXECUTABLES:
        return None
    for index, token in enumerate(tokens[1:-1], start=1):
        if _is_encoded_command_parameter(token):
            return _decode_utf16_base64(tokens[index + 1])
    return None


def _split_command_line(text: str) -> list[str]:
    try:
        tokens = shlex.split(text, posix=False)
    except ValueError:
        return []
    return [token.strip('"') for token in tokens]


def _is_encoded_command_parameter(token: str) -> bool:
    name = token.lower().lstrip("-/")
    if not name or len(token) - len(name) > 2:
        return False
    return name in _ENCODED_COMMAND_ALIASES or _ENCODED_COMMAND.startswith(name)


def _decode_utf16_base64(payload: str) -> str | None:
    try:
        return base64.b64decode(payload, validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError):
        return None
