"""The Windows Remote Shell (WinRS) operations over WS-Management.

`WinrsService.dispatch` takes a parsed request and returns the response
envelope, or raises `WsmanFault`. It keeps shells and commands in memory and
runs each command through the `CommandHandler` when the client first asks for
its output (after any stdin the client sent), then hands the output back in
chunks that respect the client's MaxEnvelopeSize, as Windows does.
"""

from __future__ import annotations

import base64
import codecs
import logging
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .commands import CommandHandler, StdinCommandHandler
from .soap import (
    NS_ADDRESSING,
    NS_SHELL,
    NS_TRANSFER,
    NS_WSMAN,
    WsmanFault,
    WsmanRequest,
    qname,
    response_envelope,
    serialize,
)

log = logging.getLogger(__name__)

SHELL_CMD_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = f"{NS_SHELL}/Command"
ACTION_SEND = f"{NS_SHELL}/Send"
ACTION_RECEIVE = f"{NS_SHELL}/Receive"
ACTION_SIGNAL = f"{NS_SHELL}/Signal"
SIGNAL_TERMINATE = f"{NS_SHELL}/signal/terminate"
SIGNAL_CTRL_C = f"{NS_SHELL}/signal/ctrl_c"
SIGNAL_CTRL_BREAK = f"{NS_SHELL}/signal/ctrl_break"
STATE_DONE = f"{NS_SHELL}/CommandState/Done"
STATE_RUNNING = f"{NS_SHELL}/CommandState/Running"
# The exit code Windows reports for a process stopped by Ctrl+C (STATUS_CONTROL_C_EXIT).
CTRL_C_EXIT_CODE = -1073741510
# Room left in each Receive response for the envelope around the streams.
_ENVELOPE_OVERHEAD = 8192


@dataclass
class _Command:
    command: str
    arguments: list[str]
    stdin: bytearray = field(default_factory=bytearray)
    stdin_sent: bool = False
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int | None = None
    stdout_pos: int = 0
    stderr_pos: int = 0

    @property
    def drained(self) -> bool:
        return self.stdout_pos >= len(self.stdout) and self.stderr_pos >= len(self.stderr)


@dataclass
class _Shell:
    codepage: str
    commands: dict[str, _Command] = field(default_factory=dict)


class WinrsService:
    """In-memory WinRS shells for one twin; safe to call from many threads."""

    def __init__(self, handler: CommandHandler, *, endpoint: str) -> None:
        self._handler = handler
        self._endpoint = endpoint
        self._shells: dict[str, _Shell] = {}
        self._lock = threading.Lock()

    def dispatch(self, request: WsmanRequest, user: str) -> bytes:
        """Perform `request` for authenticated `user`; return the response envelope."""
        if request.resource_uri != SHELL_CMD_URI:
            raise WsmanFault(
                "The WS-Management service cannot process the request. The resource URI "
                f"{request.resource_uri!r} is not supported by this test twin.",
                subcode="a:DestinationUnreachable",
                wsman_code=2150858770,
            )
        operations = {
            ACTION_CREATE: self._create,
            ACTION_DELETE: self._delete,
            ACTION_COMMAND: self._command,
            ACTION_SEND: self._send,
            ACTION_RECEIVE: self._receive,
            ACTION_SIGNAL: self._signal,
        }
        operation = operations.get(request.action)
        if operation is None:
            raise WsmanFault(
                f"The action {request.action!r} is not supported by this test twin.",
                subcode="a:ActionNotSupported",
            )
        with self._lock:
            return operation(request, user)

    def _create(self, request: WsmanRequest, user: str) -> bytes:
        shell_id = str(uuid.uuid4()).upper()
        codepage = request.options.get("WINRS_CODEPAGE", "437")
        self._shells[shell_id] = _Shell(codepage=codepage)
        shell_spec = request.body.find(qname(NS_SHELL, "Shell"))
        streams = {"InputStreams": "stdin", "OutputStreams": "stdout stderr"}
        if shell_spec is not None:
            for name in streams:
                streams[name] = shell_spec.findtext(qname(NS_SHELL, name)) or streams[name]

        envelope, body = response_envelope(f"{ACTION_CREATE}Response", request.message_id)
        created = ET.SubElement(body, qname(NS_TRANSFER, "ResourceCreated"))
        ET.SubElement(created, qname(NS_ADDRESSING, "Address")).text = self._endpoint
        reference = ET.SubElement(created, qname(NS_ADDRESSING, "ReferenceParameters"))
        ET.SubElement(reference, qname(NS_WSMAN, "ResourceURI")).text = SHELL_CMD_URI
        selectors = ET.SubElement(reference, qname(NS_WSMAN, "SelectorSet"))
        ET.SubElement(selectors, qname(NS_WSMAN, "Selector"), {"Name": "ShellId"}).text = shell_id
        shell = ET.SubElement(body, qname(NS_SHELL, "Shell"))
        for name, value in [
            ("ShellId", shell_id),
            ("ResourceUri", SHELL_CMD_URI),
            ("Owner", user),
            *streams.items(),
        ]:
            ET.SubElement(shell, qname(NS_SHELL, name)).text = value
        return serialize(envelope)

    def _delete(self, request: WsmanRequest, user: str) -> bytes:
        self._find_shell(request)
        del self._shells[request.shell_id()]
        envelope, _ = response_envelope(f"{ACTION_DELETE}Response", request.message_id)
        return serialize(envelope)

    def _command(self, request: WsmanRequest, user: str) -> bytes:
        shell = self._find_shell(request)
        line = request.body.find(qname(NS_SHELL, "CommandLine"))
        command = line.findtext(qname(NS_SHELL, "Command")) if line is not None else None
        if line is None or command is None:
            raise WsmanFault("The Command request has no rsp:CommandLine/rsp:Command.")
        arguments = [arg.text or "" for arg in line.findall(qname(NS_SHELL, "Arguments"))]
        command_id = str(uuid.uuid4()).upper()
        shell.commands[command_id] = _Command(command=command, arguments=arguments)

        envelope, body = response_envelope(f"{ACTION_COMMAND}Response", request.message_id)
        response = ET.SubElement(body, qname(NS_SHELL, "CommandResponse"))
        ET.SubElement(response, qname(NS_SHELL, "CommandId")).text = command_id
        return serialize(envelope)

    def _send(self, request: WsmanRequest, user: str) -> bytes:
        shell = self._find_shell(request)
        send = request.body.find(qname(NS_SHELL, "Send"))
        streams = send.findall(qname(NS_SHELL, "Stream")) if send is not None else []
        for stream in streams:
            command = self._find_command(shell, stream.get("CommandId"))
            if not isinstance(self._handler, StdinCommandHandler):
                raise WsmanFault(
                    "The twin's command handler does not accept stdin (no run_with_stdin).",
                    code="s:Receiver",
                    subcode="w:InternalError",
                )
            command.stdin.extend(base64.b64decode(stream.text or ""))
            command.stdin_sent = True
        envelope, body = response_envelope(f"{ACTION_SEND}Response", request.message_id)
        ET.SubElement(body, qname(NS_SHELL, "SendResponse"))
        return serialize(envelope)

    def _receive(self, request: WsmanRequest, user: str) -> bytes:
        shell = self._find_shell(request)
        desired = request.body.find(
            f"{qname(NS_SHELL, 'Receive')}/{qname(NS_SHELL, 'DesiredStream')}"
        )
        command_id = desired.get("CommandId") if desired is not None else None
        command = self._find_command(shell, command_id)
        if command.exit_code is None:
            self._run(command, shell.codepage)

        envelope, body = response_envelope(f"{ACTION_RECEIVE}Response", request.message_id)
        response = ET.SubElement(body, qname(NS_SHELL, "ReceiveResponse"))
        budget = max(1024, (request.max_envelope_size - _ENVELOPE_OVERHEAD) * 3 // 4)
        for name in ("stdout", "stderr"):
            chunk = self._take(command, name, budget)
            budget -= len(chunk)
            if chunk:
                stream = ET.SubElement(
                    response,
                    qname(NS_SHELL, "Stream"),
                    {"Name": name, "CommandId": str(command_id)},
                )
                stream.text = base64.b64encode(chunk).decode("ascii")
        if command.drained:
            for name in ("stdout", "stderr"):
                ET.SubElement(
                    response,
                    qname(NS_SHELL, "Stream"),
                    {"Name": name, "CommandId": str(command_id), "End": "true"},
                )
        state = ET.SubElement(
            response, qname(NS_SHELL, "CommandState"), {"CommandId": str(command_id)}
        )
        if command.drained:
            state.set("State", STATE_DONE)
            ET.SubElement(state, qname(NS_SHELL, "ExitCode")).text = str(command.exit_code)
        else:
            state.set("State", STATE_RUNNING)
        return serialize(envelope)

    def _signal(self, request: WsmanRequest, user: str) -> bytes:
        shell = self._find_shell(request)
        signal = request.body.find(qname(NS_SHELL, "Signal"))
        command_id = signal.get("CommandId") if signal is not None else None
        command = self._find_command(shell, command_id)
        code = (signal.findtext(qname(NS_SHELL, "Code")) if signal is not None else None) or ""
        if code.strip() == SIGNAL_TERMINATE:
            del shell.commands[str(command_id)]
        elif code.strip() in (SIGNAL_CTRL_C, SIGNAL_CTRL_BREAK):
            if command.exit_code is None:
                command.exit_code = CTRL_C_EXIT_CODE
        else:
            raise WsmanFault(f"The signal code {code!r} is not supported.")
        envelope, body = response_envelope(f"{ACTION_SIGNAL}Response", request.message_id)
        ET.SubElement(body, qname(NS_SHELL, "SignalResponse"))
        return serialize(envelope)

    def _run(self, command: _Command, codepage: str) -> None:
        try:
            if command.stdin_sent and isinstance(self._handler, StdinCommandHandler):
                result = self._handler.run_with_stdin(
                    command.command, command.arguments, bytes(command.stdin)
                )
            else:
                result = self._handler.run(command.command, command.arguments)
            stdout, stderr, exit_code = result
        except Exception as exc:
            log.exception("WinRM twin handler failed on %r", command.command)
            raise WsmanFault(
                f"The twin's command handler raised {type(exc).__name__}: {exc}",
                code="s:Receiver",
                subcode="w:InternalError",
            ) from exc
        encoding = _python_encoding(codepage)
        command.stdout = stdout.encode(encoding, errors="replace")
        command.stderr = stderr.encode(encoding, errors="replace")
        command.exit_code = exit_code

    @staticmethod
    def _take(command: _Command, stream: str, budget: int) -> bytes:
        if stream == "stdout":
            chunk = command.stdout[command.stdout_pos : command.stdout_pos + budget]
            command.stdout_pos += len(chunk)
        else:
            chunk = command.stderr[command.stderr_pos : command.stderr_pos + budget]
            command.stderr_pos += len(chunk)
        return chunk

    def _find_shell(self, request: WsmanRequest) -> _Shell:
        shell_id = request.shell_id()
        shell = self._shells.get(shell_id)
        if shell is None:
            raise WsmanFault(
                "The WS-Management service cannot process the request because the request "
                "contained invalid selectors for the resource.",
                subcode="w:InvalidSelectors",
                wsman_code=2150858843,
                detail=f"The request for the Windows Remote Shell with ShellId {shell_id} failed "
                "because the shell was not found on the server. Possible causes are: the "
                "specified ShellId is incorrect or the shell no longer exists on the server. "
                "Provide the correct ShellId or create a new shell and retry the operation.",
            )
        return shell

    @staticmethod
    def _find_command(shell: _Shell, command_id: str | None) -> _Command:
        command = shell.commands.get(command_id or "")
        if command is None:
            raise WsmanFault(
                "The parameter is incorrect.",
                subcode="w:InvalidParameter",
                wsman_code=87,
                detail=f"The Windows Remote Shell received a request to perform an operation on "
                f"a command identifier that does not exist: {command_id}.",
            )
        return command


def _python_encoding(codepage: str) -> str:
    """Map a WINRS_CODEPAGE to a Python codec; unknown pages fall back to UTF-8."""
    name = "utf-8" if codepage == "65001" else f"cp{codepage}"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"
