"""A site workspace: config.yaml, the Ed25519 key pair and the SQLite database.

Layout of a site home::

    config.yaml        site id, scan defaults, threshold overrides (no secrets)
    keys/site.key      Ed25519 private key, mode 0600
    keys/site.pub      its public key
    osiris.db          runs, hosts, results (WAL)
    secrets.yaml       optional host passwords, must be mode 0600
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from pydantic import ValidationError

from osiris.config import SiteConfig, load_config, render_config, resolve_home
from osiris.errors import InputError, OsirisError
from osiris.evidence.keys import SiteSigner, generate_keypair, load_signing_key
from osiris.store import open_database

CONFIG_FILE = "config.yaml"


@dataclass(frozen=True)
class Site:
    home: Path
    config: SiteConfig

    @property
    def db_path(self) -> Path:
        return self.home / "osiris.db"

    @property
    def private_key_path(self) -> Path:
        return self.home / "keys" / "site.key"

    @property
    def public_key_path(self) -> Path:
        return self.home / "keys" / "site.pub"

    @property
    def secrets_path(self) -> Path:
        return self.home / "secrets.yaml"

    def database(self) -> sqlite_utils.Database:
        return open_database(self.db_path)

    def signer(self) -> SiteSigner:
        """The site's evidence identity: its id and its Ed25519 signing key."""
        return SiteSigner(self.config.site_id, load_signing_key(self.private_key_path))


def default_site_id() -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower()).strip("-")
    return (name or "site")[:63]


def init_site(home: Path, site_id: str | None = None) -> Site:
    """Create a site at ``home``. Nothing is left behind if any step fails."""
    try:
        config = SiteConfig(site_id=site_id or default_site_id())
    except ValidationError:
        raise InputError(
            f"'{site_id}' is not a valid site id (lowercase letters, digits and dashes)",
            field="--site-id",
        ) from None
    if (home / CONFIG_FILE).exists():
        raise OsirisError(f"{home}: a site is already initialised here")
    if home.exists() and any(home.iterdir()):
        raise OsirisError(f"{home}: directory is not empty and holds no {CONFIG_FILE}")
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".osiris-init-", dir=home.parent))
    try:
        os.chmod(staging, 0o700)
        (staging / CONFIG_FILE).write_text(render_config(config))
        generate_keypair(staging / "keys" / "site.key", staging / "keys" / "site.pub")
        open_database(staging / "osiris.db", create=True).close()
        if home.exists():
            for item in staging.iterdir():
                item.rename(home / item.name)
            staging.rmdir()
        else:
            staging.rename(home)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Site(home=home, config=config)


def open_site(home: str | Path | None = None, *, auto_init: bool = False) -> Site:
    """Open the site at the resolved home; create it first when ``auto_init``."""
    path = resolve_home(home)
    config_path = path / CONFIG_FILE
    if not config_path.exists():
        if auto_init:
            return init_site(path)
        raise OsirisError(f"{path}: no site here; run `osiris init` (or pass --home)")
    return Site(home=path, config=load_config(config_path))
