"""`osiris init`: create a site workspace."""

from __future__ import annotations

from typing import Annotated

import typer

from osiris.cli.common import HomeOption, console
from osiris.config import resolve_home
from osiris.evidence.keys import keyid, load_verify_key
from osiris.site import init_site


def register(app: typer.Typer) -> None:
    app.command("init")(init)


def init(
    site_id: Annotated[
        str | None, typer.Option("--site-id", help="Site id (default: from the host name).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Create a site: config.yaml, an Ed25519 key pair and the database."""
    site = init_site(resolve_home(home), site_id)
    console.print(f"initialised site [bold]{site.config.site_id}[/] in {site.home}")
    console.print(f"signing key id {keyid(load_verify_key(site.public_key_path))}")
