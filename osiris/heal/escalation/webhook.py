"""Notices by webhook: one JSON POST per notice (urllib, no redirects followed).

Shapes: ``json`` (the osiris.escalation/v1 document), ``slack`` (``text`` plus Block Kit
``blocks``, for a Slack incoming webhook) and ``teams`` (an Adaptive Card message, for a
Teams workflow webhook). The URL is a secret (it usually carries a token): it is never
stored, logged or put in an error. Plain http is refused except to loopback.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from osiris import __version__
from osiris.config import WebhookConfig, WebhookFormat
from osiris.heal.escalation import message
from osiris.heal.escalation.channel import Results, describe
from osiris.heal.escalation.model import Notice
from osiris.model import Secret

_SECTION_LIMIT = 2900  # Slack refuses section text over 3000 characters


class WebhookChannel:
    def __init__(
        self, config: WebhookConfig, url: Secret | None, site_id: str, timeout: float
    ) -> None:
        self._config = config
        self._url = url
        self._site_id = site_id
        self._timeout = timeout

    @property
    def name(self) -> str:
        return f"webhook:{self._config.name}"

    def send(self, notices: Sequence[Notice]) -> Results:
        problem = self._url_problem()
        if problem:
            return {n.id: problem for n in notices}
        results: Results = {}
        for notice in notices:
            error = self._post(payload(self._config.format, self._site_id, notice))
            results[notice.id] = error
            if error is not None and not error.startswith("HTTP "):
                # the endpoint is not answering at all: do not wait on it once per notice
                return {n.id: results.get(n.id, error) for n in notices}
        return results

    def _url_problem(self) -> str | None:
        if self._url is None:
            return (
                f"webhook {self._config.name}: no URL (set ${self._config.env_var} or"
                f" services.{self._config.name} in secrets.yaml)"
            )
        parts = urlsplit(self._url.reveal())
        if parts.scheme == "https" and parts.hostname:
            return None
        if parts.scheme == "http" and _loopback(parts.hostname):
            return None
        return f"webhook {self._config.name}: the URL must be https (http only to loopback)"

    def _post(self, document: dict[str, Any]) -> str | None:
        assert self._url is not None
        request = urllib.request.Request(  # noqa: S310 (scheme checked: https or loopback http)
            self._url.reveal(),
            data=json.dumps(document).encode(),
            headers={"Content-Type": "application/json", "User-Agent": f"osiris/{__version__}"},
            method="POST",
        )
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code} {exc.reason}"
        except urllib.error.URLError as exc:
            return describe(exc.reason if isinstance(exc.reason, BaseException) else exc, self._url)
        except (OSError, ValueError) as exc:
            return describe(exc, self._url)
        return None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could turn the POST into a GET elsewhere: treat it as an error."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def payload(shape: WebhookFormat, site_id: str, notice: Notice) -> dict[str, Any]:
    return _SHAPES[shape](site_id, notice)


def _json(site_id: str, notice: Notice) -> dict[str, Any]:
    return message.document(site_id, notice)


def _slack(site_id: str, notice: Notice) -> dict[str, Any]:
    e, title = notice.escalation, message.subject(site_id, notice)
    fields = {
        "Priority": f"{e.priority} (severity {e.severity})",
        "Host": e.host,
        "Check": f"{e.check_id}: {e.check_title}",
        "Category": e.category.value,
        "Escalation": f"{e.id} (incident {e.incident_id}), seen {e.occurrences}x",
        "Opened": e.created_at,
    }
    return {
        "text": title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{_mrkdwn(value)}"}
                    for name, value in fields.items()
                ],
            },
            _slack_section("What happened", e.summary),
            _slack_section("How to fix it by hand", message.guidance(notice)),
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"`osiris escalations ack {e.id} --by NAME` to acknowledge",
                    }
                ],
            },
        ],
    }


def _slack_section(title: str, text: str) -> dict[str, Any]:
    body = _mrkdwn(text)[:_SECTION_LIMIT]
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{body}"}}


def _mrkdwn(text: str) -> str:
    """Slack's three control characters, escaped as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _teams(site_id: str, notice: Notice) -> dict[str, Any]:
    e = notice.escalation
    facts = [
        ("Priority", f"{e.priority} (severity {e.severity})"),
        ("Host", e.host),
        ("Check", f"{e.check_id}: {e.check_title}"),
        ("Category", e.category.value),
        ("Escalation", f"{e.id} (incident {e.incident_id}), seen {e.occurrences}x"),
        ("Opened", e.created_at),
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": message.subject(site_id, notice),
                "size": "Large",
                "weight": "Bolder",
                "wrap": True,
            },
            {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in facts]},
            {"type": "TextBlock", "text": "What happened", "weight": "Bolder"},
            {"type": "TextBlock", "text": e.summary, "wrap": True},
            {"type": "TextBlock", "text": "How to fix it by hand", "weight": "Bolder"},
            {"type": "TextBlock", "text": message.guidance(notice), "wrap": True},
            {
                "type": "TextBlock",
                "text": f"Acknowledge: osiris escalations ack {e.id} --by NAME",
                "isSubtle": True,
                "wrap": True,
            },
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


_SHAPES: dict[WebhookFormat, Callable[[str, Notice], dict[str, Any]]] = {
    WebhookFormat.JSON: _json,
    WebhookFormat.SLACK: _slack,
    WebhookFormat.TEAMS: _teams,
}
