"""`python -m tests.lab.winrm_twin serve`: one twin (a stand-in for a Windows host).

Serves HTTPS and HTTP on 127.0.0.1 (ports chosen by the kernel), then writes
``{"https": PORT, "http": PORT}`` to the ``--ready`` file. Commands are answered by
:class:`tests.lab.winrm_twin.handler.WindowsHandler` from the state file, which tests
may read and change between commands.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

from tests.lab.winrm_twin.handler import WindowsHandler
from tests.lab.winrm_twin.server import TwinServer


def serve(args: argparse.Namespace) -> int:
    handler = WindowsHandler(Path(args.state))
    password = Path(args.password_file).read_text().strip()
    servers = [
        TwinServer(
            handler,
            username=args.user,
            password=password,
            tls=(args.cert, args.key),
            admit=handler.admits,
        ),
        TwinServer(handler, username=args.user, password=password, admit=handler.admits),
    ]
    for server in servers:
        server.start()
    ready = Path(args.ready)
    tmp = ready.with_suffix(".tmp")
    tmp.write_text(json.dumps({"https": servers[0].port, "http": servers[1].port}))
    os.replace(tmp, ready)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    for server in servers:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.winrm_twin")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve one twin until SIGTERM")
    run.add_argument("--name", required=True)
    run.add_argument("--state", required=True, help="the twin's Windows state (JSON)")
    run.add_argument("--ready", required=True, help="written with the ports once listening")
    run.add_argument("--user", required=True)
    run.add_argument("--password-file", required=True, help="0600 file holding the password")
    run.add_argument("--cert", required=True)
    run.add_argument("--key", required=True)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
