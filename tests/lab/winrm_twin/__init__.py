"""WinRM twin: a loopback WS-Management server that stands in for Windows in tests.

See `server` for the overview. Public names are re-exported here.
"""

from .ca import issue_server_cert, make_ca
from .commands import CommandHandler, StdinCommandHandler, decode_powershell
from .server import TwinServer, TwinStats

__all__ = [
    "CommandHandler",
    "StdinCommandHandler",
    "TwinServer",
    "TwinStats",
    "decode_powershell",
    "issue_server_cert",
    "make_ca",
]
