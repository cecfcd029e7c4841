"""Real TCP servers on loopback that accept and do not speak SSH (for SSH error tests)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator


def _http(connection: socket.socket) -> None:
    connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    connection.close()


# what a port that is not SSH does with a connection: a web server's answer, a close at
# once (a port forwarder with nothing behind it), nothing at all (held open, silent)
NOT_SSH: dict[str, Callable[[socket.socket], None]] = {
    "http": _http,
    "closes": lambda connection: connection.close(),
    "silent": lambda connection: None,
}


@contextlib.contextmanager
def serving(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback TCP server that accepts and calls ``answer`` on each connection; its port."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def loop() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return  # closed: the test is over
            held.append(connection)
            answer(connection)

    threading.Thread(target=loop, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
        for connection in held:
            connection.close()
