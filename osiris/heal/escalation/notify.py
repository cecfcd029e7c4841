"""Sending what is queued: the channels of the site's config, the rate limit, retries.

``deliver_pending`` runs at the end of every heal (not a dry run). It never raises for a
delivery problem: every failure is an attempt row with its error, and the notice stays
pending for the next heal, which tries only the channels that have not taken it yet.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from osiris.config import EscalationConfig
from osiris.errors import OsirisError
from osiris.heal.escalation import dedup, notices
from osiris.heal.escalation.channel import Channel, Results, Unavailable, describe
from osiris.heal.escalation.mail import PASSWORD_ENV, PASSWORD_NAME, EmailChannel
from osiris.heal.escalation.model import Notice
from osiris.heal.escalation.webhook import WebhookChannel
from osiris.inventory.secrets import service_secret
from osiris.model import Secret
from osiris.store.runs import transaction


@dataclass(frozen=True)
class Delivery:
    """What one delivery did, by notice id."""

    sent: tuple[int, ...] = ()  # every channel has taken it
    failed: tuple[tuple[int, str, str], ...] = ()  # (notice, channel, error) of this try
    held: tuple[int, ...] = ()  # over the rate limit: waits for a later heal


def channels(config: EscalationConfig, site_id: str, secrets_path: Path | None) -> list[Channel]:
    """The configured channels with their secrets resolved (environment first, then
    secrets.yaml). A secret that cannot be read makes its channel Unavailable."""
    found: list[Channel] = []
    if config.email is not None:
        try:
            password = _secret(secrets_path, PASSWORD_NAME, PASSWORD_ENV)
        except OsirisError as exc:
            found.append(Unavailable(EmailChannel.name, str(exc)))
        else:
            found.append(EmailChannel(config.email, password, site_id))
    for hook in config.webhooks:
        try:
            url = _secret(secrets_path, hook.name, hook.env_var)
        except OsirisError as exc:
            found.append(Unavailable(f"webhook:{hook.name}", str(exc)))
        else:
            found.append(WebhookChannel(hook, url, site_id, config.webhook_timeout))
    return found


def _secret(secrets_path: Path | None, name: str, env_var: str) -> Secret | None:
    if secrets_path is None:  # no site secrets file: the environment only
        value = os.environ.get(env_var)
        return Secret(value) if value else None
    return service_secret(secrets_path, name, env_var)


def deliver_pending(
    db: sqlite_utils.Database,
    config: EscalationConfig,
    now: datetime,
    *,
    site_id: str,
    secrets_path: Path | None,
    using: Sequence[Channel] | None = None,
) -> Delivery:
    """Send pending notices within the rate limit; record every attempt.

    ``using`` replaces the configured channels (for callers that built them already).
    With no channel configured nothing is sent and notices wait.
    """
    chosen = list(using) if using is not None else channels(config, site_id, secrets_path)
    if not chosen:
        return Delivery()
    room = dedup.budget(
        notices.started_since(db, now - dedup.RATE_PERIOD), config.max_notices_per_hour
    )
    due: list[Notice] = []
    held: list[int] = []
    for notice in notices.pending(db):
        if notice.started_at is not None:
            due.append(notice)  # a retry: already counted when it was first tried
        elif room > 0:
            due.append(notice)
            room -= 1
        else:
            held.append(notice.id)
    failed: list[tuple[int, str, str]] = []
    for channel in chosen:
        todo = [n for n in due if channel.name not in notices.delivered_channels(db, n.id)]
        if not todo:
            continue
        results = _send(channel, todo)
        with transaction(db):
            for notice in todo:
                error = results.get(notice.id, "the channel gave no answer for this notice")
                notices.record_attempt(db, notice.id, channel.name, error, now)
                if error is not None:
                    failed.append((notice.id, channel.name, error))
    names = {c.name for c in chosen}
    sent = []
    with transaction(db):
        for notice in due:
            if names <= notices.delivered_channels(db, notice.id):
                notices.mark_sent(db, notice.id, now)
                sent.append(notice.id)
    return Delivery(tuple(sent), tuple(failed), tuple(held))


def _send(channel: Channel, todo: Sequence[Notice]) -> Results:
    try:
        return channel.send(todo)
    except Exception as exc:  # a bug in a channel must not end a heal; it is recorded
        error = f"unexpected error: {describe(exc)}"
        return {n.id: error for n in todo}
