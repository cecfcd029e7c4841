"""Linux hosts over SSH with paramiko. Host keys are pinned by known_hosts.

Unknown keys are refused (RejectPolicy) unless ``accept_new_host_keys`` is set, in which
case a *new* host's key is recorded in the first known_hosts file. A *changed* key is
always refused: paramiko raises BadHostKeyException before any policy is asked.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from pathlib import Path

import paramiko

from osiris.model import Host
from osiris.transport.base import CommandOutput, FailureKind, TransportError, TransportOptions
from osiris.transport.cancel import Cancel, Cancelled
from osiris.transport.supervisor import supervisor_command

# how long a stopped remote supervisor gets to end its session and remove its directory
STOP_GRACE = 1.0

_KNOWN_HOSTS_LOCK = threading.Lock()
# paramiko logs a failed handshake with a traceback, which Python's last-resort handler
# prints on stderr; the TransportError below already says what went wrong, in one line
logging.getLogger("paramiko").addHandler(logging.NullHandler())


def _fingerprint(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"


class _Refuse(paramiko.MissingHostKeyPolicy):
    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise TransportError(
            FailureKind.HOST_KEY,
            f"unknown host key {_fingerprint(key)} for {hostname}; add it to known_hosts"
            " or pass --accept-new-host-keys",
        )


class _AcceptNew(paramiko.MissingHostKeyPolicy):
    """Trust on first use: record a new host's key in ``path``."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        entry = paramiko.hostkeys.HostKeyEntry([hostname], key)
        with _KNOWN_HOSTS_LOCK:
            self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self._path.open("a") as handle:
                handle.write(entry.to_line() or "")
        client.get_host_keys().add(hostname, key.get_name(), key)


class SshTransport:
    def __init__(self, host: Host, options: TransportOptions, cancel: Cancel | None = None) -> None:
        self._host = host
        self._cancel = cancel
        self._client = paramiko.SSHClient()
        files = [Path(f).expanduser() for f in (*host.known_hosts, *options.known_hosts)]
        for path in files:
            if path.is_file():
                self._client.load_host_keys(str(path))
        policy: paramiko.MissingHostKeyPolicy = _Refuse()
        if options.accept_new_host_keys:
            policy = _AcceptNew(files[0] if files else Path("~/.ssh/known_hosts").expanduser())
        self._client.set_missing_host_key_policy(policy)
        try:
            self._connect(options.connect_timeout)
        except BaseException:
            self._client.close()  # no paramiko thread outlives a failed connect
            raise

    def _connect(self, timeout: float) -> None:
        host = self._host
        if self._cancel:
            self._cancel.raise_if_set()
        try:
            self._client.connect(
                hostname=host.address,
                port=host.port or 22,
                username=host.user,
                password=host.password.reveal() if host.password else None,
                key_filename=host.key_file,
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
                look_for_keys=host.key_file is None and host.password is None,
                allow_agent=host.password is None,
            )
        except TransportError:
            raise
        except paramiko.BadHostKeyException as exc:
            raise TransportError(
                FailureKind.HOST_KEY,
                f"host key mismatch for {host.address}: got {_fingerprint(exc.key)},"
                f" known_hosts has {_fingerprint(exc.expected_key)}; refusing to connect",
            ) from None
        except paramiko.AuthenticationException as exc:
            raise TransportError(FailureKind.AUTH, f"authentication failed: {exc}") from None
        except TimeoutError:
            raise TransportError(
                FailureKind.TIMEOUT, f"connect timed out after {timeout:g} s"
            ) from None
        except (OSError, paramiko.SSHException) as exc:
            if self._spoke_no_ssh():
                raise TransportError(
                    FailureKind.PROTOCOL, f"no SSH banner from {host.address}:{host.port or 22}"
                ) from None
            raise TransportError(FailureKind.UNREACHABLE, str(exc) or type(exc).__name__) from None

    def _spoke_no_ssh(self) -> bool:
        """True when the TCP connection was made but no SSH banner came back (a web
        server, a closed or silent port forwarder): paramiko's own words for it vary."""
        transport = self._client.get_transport()
        return transport is not None and not transport.remote_version

    def run(self, script: str, *, timeout: float) -> CommandOutput:
        if self._cancel:
            self._cancel.raise_if_set()
        deadline = time.monotonic() + timeout
        transport = self._client.get_transport()
        if transport is None:
            raise TransportError(FailureKind.UNREACHABLE, "connection closed")
        data = script.encode()
        become = self._host.become and self._host.user not in (None, "root")
        channel = transport.open_session(timeout=timeout)
        try:
            channel.exec_command(supervisor_command(len(data), sudo=become))
            channel.sendall(data)
            # stdin stays open: it is the remote supervisor's lifeline (supervisor.py)
            out, err = self._drain(channel, deadline, timeout)
            return CommandOutput(out, err, channel.recv_exit_status())
        except (OSError, paramiko.SSHException) as exc:
            raise TransportError(FailureKind.UNREACHABLE, str(exc) or type(exc).__name__) from None
        finally:
            _stop(channel)

    def _drain(self, channel: paramiko.Channel, deadline: float, timeout: float) -> tuple[str, str]:
        out: list[bytes] = []
        err: list[bytes] = []
        waits = [channel.fileno()] + ([self._cancel.fileno()] if self._cancel else [])
        while True:
            if self._cancel and self._cancel.is_set():
                raise Cancelled(self._cancel.signum)
            if channel.recv_ready():
                out.append(channel.recv(65536))
            elif channel.recv_stderr_ready():
                err.append(channel.recv_stderr(65536))
            elif channel.exit_status_ready() and channel.eof_received:
                break
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransportError(FailureKind.TIMEOUT, f"no answer within {timeout:g} s")
                # the channel's fd signals stdout data and closure, the token's a cancel;
                # stderr is polled
                select.select(waits, [], [], min(remaining, 0.2))
        return b"".join(out).decode("utf-8", "replace"), b"".join(err).decode("utf-8", "replace")

    def close(self) -> None:
        self._client.close()


def _stop(channel: paramiko.Channel) -> None:
    """Close the lifeline: the remote supervisor then ends its session and removes its
    work directory (it exits on its own after a normal run). Wait for it briefly."""
    if not channel.closed:
        try:
            channel.shutdown_write()
            deadline = time.monotonic() + STOP_GRACE
            while not (channel.exit_status_ready() and channel.eof_received):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # drain what is still coming, so the window never blocks the remote side
                if channel.recv_ready():
                    channel.recv(65536)
                elif channel.recv_stderr_ready():
                    channel.recv_stderr(65536)
                else:
                    select.select([channel], [], [], min(remaining, 0.2))
        except (OSError, paramiko.SSHException):
            pass  # the connection is gone: the remote side sees EOF all the same
    channel.close()
