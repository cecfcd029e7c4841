"""What a notification channel is, and how its errors are told without its secrets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from osiris.heal.escalation.model import Notice
from osiris.model import Secret

# one channel's answer per notice: None when it took the notice, else why not
Results = dict[int, str | None]


class Channel(Protocol):
    """Sends notices. ``name`` ("email", "webhook:NAME") is what the database keeps; a
    channel never raises for a failed delivery, it answers with the error."""

    @property
    def name(self) -> str: ...

    def send(self, notices: Sequence[Notice]) -> Results: ...


class Unavailable:
    """A configured channel that cannot work now (its secret is missing or unreadable):
    every notice fails with the same reason, is recorded, and waits for the next heal."""

    def __init__(self, name: str, reason: str) -> None:
        self._name, self._reason = name, reason

    @property
    def name(self) -> str:
        return self._name

    def send(self, notices: Sequence[Notice]) -> Results:
        return {n.id: self._reason for n in notices}


def describe(exc: BaseException, *secrets: Secret | None) -> str:
    """One line for the attempt log: the error's type and text, any secret cut out."""
    text = str(exc).strip() or repr(exc)
    return redact(f"{type(exc).__name__}: {text}"[:500], *secrets)


def redact(text: str, *secrets: Secret | None) -> str:
    for secret in secrets:
        if secret is not None and secret.reveal():
            text = text.replace(secret.reveal(), "***")
    return text
