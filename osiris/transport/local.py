"""This machine, through a subprocess that dies with its controller.

The bundle runs under the supervisor (``supervisor.py``) in a session of its own, with
a parent-death signal, in a private work directory that is its ``TMPDIR``. However the
run ends (output, timeout, cancel, an exception here), the session is ended and the
directory removed before :meth:`LocalTransport.run` returns.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import subprocess
import tempfile
import time

from osiris.transport.base import CommandOutput, FailureKind, TransportError
from osiris.transport.cancel import Cancel, Cancelled
from osiris.transport.supervisor import die_with_parent, end_session, supervisor_argv

# how long a stopped supervisor gets to end its session and remove its directory
STOP_GRACE = 1.0


class LocalTransport:
    def __init__(self, become: bool = False, cancel: Cancel | None = None) -> None:
        self._prefix = ["sudo", "-n"] if become and os.geteuid() != 0 else []
        self._cancel = cancel

    def run(self, script: str, *, timeout: float) -> CommandOutput:
        if self._cancel:
            self._cancel.raise_if_set()
        data = script.encode()
        workdir = tempfile.mkdtemp(prefix="osiris-probe-")
        try:
            process = subprocess.Popen(
                [*self._prefix, *supervisor_argv(len(data), workdir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=die_with_parent,  # calls one pre-resolved C function, no lock
            )
            try:
                return self._talk(process, data, timeout)
            finally:
                _stop(process, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _talk(self, process: subprocess.Popen[bytes], data: bytes, timeout: float) -> CommandOutput:
        assert process.stdin and process.stdout and process.stderr
        deadline = time.monotonic() + timeout
        try:
            process.stdin.write(data)
            process.stdin.flush()
        except BrokenPipeError:
            pass  # it ended before reading it all: its stderr and exit status say why
        chunks: dict[int, list[bytes]] = {process.stdout.fileno(): [], process.stderr.fileno(): []}
        with selectors.DefaultSelector() as selector:
            for fd in chunks:
                selector.register(fd, selectors.EVENT_READ)
            if self._cancel:
                selector.register(self._cancel.fileno(), selectors.EVENT_READ)
            while len(selector.get_map()) > (1 if self._cancel else 0):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransportError(FailureKind.TIMEOUT, f"no answer within {timeout:g} s")
                for key, _ in selector.select(remaining):
                    if self._cancel and key.fd == self._cancel.fileno():
                        raise Cancelled(self._cancel.signum)
                    chunk = os.read(key.fd, 65536)
                    if chunk:
                        chunks[key.fd].append(chunk)
                    else:
                        selector.unregister(key.fd)
        code = process.wait()
        out, err = (b"".join(c).decode("utf-8", "replace") for c in chunks.values())
        return CommandOutput(out, err, code)

    def close(self) -> None:
        pass


def _stop(process: subprocess.Popen[bytes], workdir: str) -> None:
    """Close the lifeline (the supervisor then ends its session and work directory),
    wait for it briefly, and end whatever is left of the session ourselves."""
    if process.stdin:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_GRACE)
    end_session(process.pid, workdir)
    # a supervisor run by sudo is out of our reach: it ends when it reads EOF
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_GRACE)
    for stream in (process.stdout, process.stderr):
        if stream:
            stream.close()
