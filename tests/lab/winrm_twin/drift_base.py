"""The registry of named drifts: misconfigurations the WinRM twin can apply to a host.

``apply_drift(state, name)`` changes a ``WindowsState`` in place; ``DRIFTS`` maps every
name to its function, whose docstring says what it changes and which check then reports
what. The drifts live in ``drifts.py``, ``drifts_system.py`` and ``drifts_hardening.py``;
importing ``drifts`` registers them all. A drift that makes no sense for the host (a DC
service on a workstation, Security Center on a server) raises ``DriftError``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .components import Service
from .state import WindowsState, now_utc


class DriftError(ValueError):
    """The drift does not apply to this host."""


Drift = Callable[[WindowsState, datetime], None]
DRIFTS: dict[str, Drift] = {}


def drift(name: str) -> Callable[[Drift], Drift]:
    """Register a drift under ``name``."""

    def register(function: Drift) -> Drift:
        if name in DRIFTS:
            raise ValueError(f"two drifts named {name}")
        DRIFTS[name] = function
        return function

    return register


def apply_drift(state: WindowsState, name: str, *, now: datetime | None = None) -> None:
    """Apply the named drift to ``state`` in place; KeyError lists the known names."""
    try:
        function = DRIFTS[name]
    except KeyError:
        raise KeyError(f"unknown drift {name!r}; known: {', '.join(sorted(DRIFTS))}") from None
    function(state, now or now_utc())


def existing_service(state: WindowsState, name: str) -> Service:
    """The service ``name``, or DriftError when the host has none."""
    found = state.service(name)
    if found is None:
        raise DriftError(f"{state.hostname} ({state.role}) has no service {name}")
    return found


def only_on(state: WindowsState, *roles: str) -> None:
    """DriftError unless the host has one of ``roles``."""
    if state.role not in roles:
        raise DriftError(f"this drift applies to {', '.join(roles)}, not {state.role}")
