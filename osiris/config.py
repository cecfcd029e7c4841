"""Where a site lives and what its config.yaml says.

Home: ``--home``, else ``$OSIRIS_HOME``, else ``/var/lib/osiris`` for root, else the
user's data directory. config.yaml holds no secrets (passwords go in the 0600
secrets file or the environment; see inventory).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

import platformdirs
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from osiris.errors import InputError
from osiris.yamlfile import input_error_from, load_yaml

SITE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


def resolve_home(explicit: str | Path | None = None) -> Path:
    """The site home directory, by the documented precedence."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("OSIRIS_HOME")
    if env:
        return Path(env).expanduser().resolve()
    if os.geteuid() == 0:
        return Path("/var/lib/osiris")
    return Path(platformdirs.user_data_dir("osiris"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScanConfig(_Strict):
    forks: int = Field(default=16, ge=1, le=512)
    timeout: float = Field(default=300.0, gt=0, description="seconds per host")


class SshConfig(_Strict):
    known_hosts: tuple[str, ...] = ("~/.ssh/known_hosts",)


class MaintenanceWindow(_Strict):
    """When healing may change hosts: days (mon..sun) and a UTC time span, which may
    wrap past midnight ("22:00" to "06:00")."""

    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class HealConfig(_Strict):
    """Safety rails of `osiris heal` (defaults from the heal issue), and the values a
    site gives its runbooks' settings (``runbook_vars``: runbook id -> variable -> value;
    checked against the runbooks by osiris.heal.variables). Runbook values are signed
    into the heal evidence, so no setting may hold a secret."""

    breaker_actions: int = Field(default=5, ge=1, description="actions per host per window")
    breaker_window: str = "10m"
    flap_recurrences: int = Field(default=3, ge=2)
    flap_window: str = "2h"
    max_actions_per_run: int = Field(default=20, ge=1)
    maintenance_windows: tuple[MaintenanceWindow, ...] = ()  # none: any time
    guard_seconds: int = Field(default=60, ge=10, le=900, description="lockout guard timer")
    runbook_vars: dict[str, dict[str, Any]] = Field(default_factory=dict)


class FlywheelConfig(_Strict):
    """When a learned pattern is offered for promotion to an L1 rule (`osiris patterns
    candidates`), and when a promoted rule is demoted again. Rates are over measured
    outcomes only: the re-run check passed (success) or did not (failure)."""

    min_occurrences: int = Field(default=5, ge=1, description="measured outcomes")
    min_success_rate: float = Field(default=0.9, gt=0, le=1)
    min_l2_successes: int = Field(default=3, ge=0, description="fixes chosen by the L2 planner")
    demote_failure_rate: float = Field(
        default=0.2, ge=0, lt=1, description="demote when failures as L1 pass this share"
    )
    demote_min_outcomes: int = Field(
        default=5, ge=1, description="outcomes as L1, since promotion, before judging"
    )


_DURATION = r"^\d+\s*[smhd]$"  # as osiris.heal.rules.parse_duration reads it
_ADDRESS = r"^[^@\s<>]+@[^@\s<>]+$"


class EmailConfig(_Strict):
    """SMTP for L3 notices. The password (when ``username`` is set) comes from
    ``$OSIRIS_SMTP_PASSWORD`` or ``services.smtp_password`` in secrets.yaml, never from
    here. With ``starttls`` the server's certificate is validated (against ``ca_file``
    when given, else the system's CAs)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    sender: str = Field(alias="from", pattern=_ADDRESS)
    to: tuple[str, ...] = Field(min_length=1)
    ca_file: str | None = None
    timeout: float = Field(default=30.0, gt=0, description="seconds per SMTP operation")

    @model_validator(mode="after")
    def _safe(self) -> EmailConfig:
        if self.username and not self.starttls:
            raise ValueError("a login without starttls would send the password in clear")
        for address in self.to:
            if "@" not in address or any(c.isspace() or c in "<>" for c in address):
                raise ValueError(f"'{address}' is not an e-mail address")
        return self


class WebhookFormat(StrEnum):
    JSON = "json"  # osiris.escalation/v1 document
    SLACK = "slack"  # {"text", "blocks"} for a Slack incoming webhook
    TEAMS = "teams"  # an Adaptive Card message for a Teams workflow webhook


class WebhookConfig(_Strict):
    """A webhook for L3 notices. Its URL usually carries a token, so it is not written
    here: it comes from ``$url_env`` (default ``OSIRIS_WEBHOOK_<NAME>``) or from
    ``services.<name>`` in secrets.yaml."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_]{0,62}$")
    url_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    format: WebhookFormat = WebhookFormat.JSON

    @property
    def env_var(self) -> str:
        return self.url_env or f"OSIRIS_WEBHOOK_{self.name.upper()}"


class EscalationConfig(_Strict):
    """Who hears about L3 escalations, and how often. Without email and webhooks,
    escalations are only recorded (`osiris escalations list`)."""

    email: EmailConfig | None = None
    webhooks: tuple[WebhookConfig, ...] = ()
    dedup_window: str = Field(default="24h", pattern=_DURATION)
    max_notices_per_hour: int = Field(default=20, ge=1, description="over all escalations")
    webhook_timeout: float = Field(default=10.0, gt=0, description="seconds per request")

    @model_validator(mode="after")
    def _unique_names(self) -> EscalationConfig:
        names = [w.name for w in self.webhooks]
        if len(names) != len(set(names)):
            raise ValueError("webhook names must be unique")
        return self

    @property
    def has_channels(self) -> bool:
        return self.email is not None or bool(self.webhooks)


class ModelPrice(_Strict):
    """US dollars per million tokens, as the provider bills them."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class L2Config(_Strict):
    """The L2 planner: an LLM that picks a runbook when no L1 rule matches. Off until an
    API key is configured (``$ANTHROPIC_API_KEY`` or ``services.anthropic_api_key`` in
    secrets.yaml); the key is never written here."""

    model: str = Field(default="claude-haiku-4-5", min_length=1)  # picks among a few runbooks
    base_url: str | None = Field(default=None, pattern=r"^https?://\S+$")  # None: the SDK's
    timeout: float = Field(default=60.0, gt=0, le=600, description="seconds per request")
    max_retries: int = Field(default=2, ge=0, le=10, description="SDK retries: 429, 5xx, timeout")
    max_tokens: int = Field(default=1024, ge=64, le=8192)
    min_confidence: float = Field(default=0.7, ge=0, le=1)
    calls_per_hour: int = Field(default=20, ge=0)
    dollars_per_day: float = Field(default=5.0, ge=0, description="within any 24 hours")
    cache_hours: float = Field(default=24, ge=0, description="reuse a drift's answer this long")
    history: int = Field(default=10, ge=0, le=100, description="past decisions in the prompt")
    # the rails of an L2 choice, as a rule's max_retries and cooldown are for an L1 one
    max_attempts: int = Field(default=3, ge=1, le=20)
    cooldown: str = Field(default="1h", pattern=_DURATION)
    # list prices when written; a site keeps them current (and adds its model) here
    prices: dict[str, ModelPrice] = {
        "claude-haiku-4-5": ModelPrice(input=1.0, output=5.0),
        "claude-sonnet-4-6": ModelPrice(input=3.0, output=15.0),
        "claude-opus-4-6": ModelPrice(input=5.0, output=25.0),
    }

    @model_validator(mode="after")
    def _priced(self) -> L2Config:
        if self.model not in self.prices:
            # the dollar budget is computed from this table: an unpriced model has none
            raise ValueError(f"model '{self.model}' has no entry in l2.prices ($ per Mtok)")
        return self


class AnchorConfig(_Strict):
    """OpenTimestamps calendars `osiris anchor` submits checkpoints to and asks for
    upgrades (a proof's calendar URL is contacted only if it is listed here)."""

    calendars: tuple[str, ...] = (
        "https://alice.btc.calendar.opentimestamps.org",
        "https://bob.btc.calendar.opentimestamps.org",
        "https://finney.calendar.eternitywall.com",
        "https://btc.calendar.catallaxy.com",
    )
    timeout: float = Field(default=10.0, gt=0, description="seconds per calendar request")


class SiteConfig(_Strict):
    """config.yaml. Unknown keys are errors: a typo must not silently do nothing."""

    site_id: str = Field(pattern=SITE_ID_PATTERN)
    scan: ScanConfig = ScanConfig()
    ssh: SshConfig = SshConfig()
    anchor: AnchorConfig = AnchorConfig()
    heal: HealConfig = HealConfig()
    flywheel: FlywheelConfig = FlywheelConfig()
    escalation: EscalationConfig = EscalationConfig()
    l2: L2Config = L2Config()
    # per-check threshold overrides: {check_id: {threshold_name: value}}
    thresholds: dict[str, dict[str, Any]] = {}


def load_config(path: Path) -> SiteConfig:
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise InputError("config must be a mapping", file=path, line=1)
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise input_error_from(exc, path, lines) from exc


def render_config(config: SiteConfig) -> str:
    """config.yaml text for a new site, with a header saying what goes where."""
    header = (
        "# Osiris site configuration. No secrets here: passwords belong in secrets.yaml\n"
        "# (mode 0600) or in environment variables named by the inventory.\n"
    )
    body = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    return header + body
