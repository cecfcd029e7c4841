"""This machine, through a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess

from osiris.transport.base import CommandOutput, FailureKind, TransportError


class LocalTransport:
    """Runs scripts with ``sh -s`` (the script on stdin), in its own process group."""

    def __init__(self, become: bool = False) -> None:
        self._argv = ["sudo", "-n", "sh", "-s"] if become and os.geteuid() != 0 else ["sh", "-s"]

    def run(self, script: str, *, timeout: float) -> CommandOutput:
        process = subprocess.Popen(
            self._argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # so a timeout can kill the whole probe tree
        )
        try:
            out, err = process.communicate(script.encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise TransportError(FailureKind.TIMEOUT, f"no answer within {timeout:g} s") from None
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        return CommandOutput(
            out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), process.returncode
        )

    def close(self) -> None:
        pass
