"""Where a site lives and what its config.yaml says.

Home: ``--home``, else ``$OSIRIS_HOME``, else ``/var/lib/osiris`` for root, else the
user's data directory. config.yaml holds no secrets (passwords go in the 0600
secrets file or the environment; see inventory).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
    """Safety rails of `osiris heal` (defaults from the heal issue)."""

    breaker_actions: int = Field(default=5, ge=1, description="actions per host per window")
    breaker_window: str = "10m"
    flap_recurrences: int = Field(default=3, ge=2)
    flap_window: str = "2h"
    max_actions_per_run: int = Field(default=20, ge=1)
    maintenance_windows: tuple[MaintenanceWindow, ...] = ()  # none: any time
    guard_seconds: int = Field(default=60, ge=10, le=900, description="lockout guard timer")


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
