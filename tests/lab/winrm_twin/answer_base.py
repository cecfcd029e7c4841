"""The registry of probe answers: one Python function per Windows check id.

Windows cannot run here, so the twin cannot run the probes; instead each check id has one
function in ``ANSWERS`` that mirrors that check's PowerShell probe step by step (same
fact names, same order, same null/empty cases) and returns the object the probe would
return. The functions live in ``answers.py``, ``answers_system.py`` and
``answers_hardening.py``; importing ``answers`` registers them all.

A function raises ``ProbeError`` where the PowerShell probe would throw (the message is
what PowerShell would say); the twin turns that into exit code 1 and a stderr frame, as
the real bundle runner does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .state import WindowsState, parse_iso

Facts = dict[str, Any]
Answer = Callable[[WindowsState, datetime], Facts]
ANSWERS: dict[str, Answer] = {}


class ProbeError(Exception):
    """The probe would throw; ``str(error)`` is PowerShell's message."""


def answer(check_id: str) -> Callable[[Answer], Answer]:
    """Register the function that answers the probe of ``check_id``."""

    def register(function: Answer) -> Answer:
        if check_id in ANSWERS:
            raise ValueError(f"two answers for {check_id}")
        ANSWERS[check_id] = function
        return function

    return register


def whole_days(now: datetime, then: str) -> int:
    """``[int][math]::Floor(($now - $then).TotalDays)``."""
    return math.floor((now - parse_iso(then)).total_seconds() / 86400)


def rounded_days(now: datetime, then: str) -> float:
    """``[math]::Round(($now - $then).TotalDays, 1)``."""
    return round((now - parse_iso(then)).total_seconds() / 86400, 1)


def rounded_hours(now: datetime, then: str) -> float:
    """``[math]::Round(($now - $then).TotalHours, 1)``."""
    return round((now - parse_iso(then)).total_seconds() / 3600, 1)


def defender_answers(state: WindowsState) -> None:
    """Get-MpComputerStatus and Get-MpPreference throw while the Defender service is stopped."""
    if not state.defender.service_running:
        raise ProbeError("Operation failed with the following error: 0x800106ba")


def domain_controller(state: WindowsState) -> bool:
    """``(Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole -ge 4``."""
    return state.domain_role >= 4
