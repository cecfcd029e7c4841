"""What the scanner's clock can say about itself: its source and offset, when known.

Evidence records times from this machine's clock; an auditor weighs them by how that
clock was kept. On Linux the kernel's NTP state (``adjtimex`` with no changes, which
any user may call) says whether the clock is synchronised and its estimated offset.
Elsewhere, or when the kernel says nothing useful, the source is the bare system clock
and the offset is unknown (``None``), never a guess.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from dataclasses import dataclass
from typing import Any

_STA_UNSYNC = 0x0040
_STA_NANO = 0x2000
_TIME_ERROR = 5


@dataclass(frozen=True)
class ClockInfo:
    """``source``: ``ntp`` (kernel-disciplined, synchronised) or ``system``;
    ``offset_ms``: the kernel's current offset estimate, or None when not known;
    ``max_error_ms``: the kernel's bound on the error, or None."""

    source: str
    offset_ms: float | None = None
    max_error_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "offset_ms": self.offset_ms,
            "max_error_ms": self.max_error_ms,
        }


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """struct timex from <sys/timex.h> (Linux)."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_padding", ctypes.c_int * 11),
    ]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def system_clock() -> ClockInfo:
    """This machine's clock source and offset, as far as the kernel knows them now."""
    libc = _libc()
    if libc is None:
        return ClockInfo("system")
    timex = _Timex()  # modes = 0: read only
    try:
        state = libc.adjtimex(ctypes.byref(timex))
    except AttributeError:
        return ClockInfo("system")
    if state < 0 or state == _TIME_ERROR or timex.status & _STA_UNSYNC:
        return ClockInfo("system")
    divisor = 1_000_000 if timex.status & _STA_NANO else 1_000
    return ClockInfo(
        "ntp",
        offset_ms=round(timex.offset / divisor, 3),
        max_error_ms=round(timex.maxerror / 1_000, 3),
    )
