"""`osiris runbooks list|show`: the remediation runbooks, and what a site runs them with."""

from __future__ import annotations

import json
from typing import Any

import typer
import yaml
from rich.table import Table

from osiris.catalog import load_catalog
from osiris.catalog.thresholds import resolver, validate_overrides
from osiris.cli.common import HomeOption, JsonOption, PlatformOption, console, parse_platform
from osiris.config import resolve_home
from osiris.heal.runbooks import Runbook, default_playbooks_dir, load_runbooks
from osiris.heal.variables import resolve, validate_site_vars
from osiris.scan.plan import load_site_config
from osiris.site import CONFIG_FILE

app = typer.Typer(help="The remediation runbooks heal applies.", no_args_is_help=True)


@app.command("list")
def list_runbooks(
    platform: PlatformOption = None,
    as_json: JsonOption = False,
) -> None:
    """List runbooks with the checks they fix and whether they need an approval."""
    runbooks = list(load_runbooks(load_catalog(), default_playbooks_dir()))
    wanted = parse_platform(platform)
    if wanted is not None:
        runbooks = [r for r in runbooks if r.spec.platform is wanted]
    if as_json:
        typer.echo(json.dumps([r.spec.model_dump(mode="json") for r in runbooks], indent=2))
        return
    table = Table(title=f"{len(runbooks)} runbooks", title_justify="left")
    for column in ("id", "fixes", "approval", "follows", "settings"):
        table.add_column(column)
    for r in runbooks:
        table.add_row(
            r.id,
            ", ".join(r.spec.fixes),
            "yes" if r.needs_approval else "no",
            ", ".join(r.spec.follows.values()),
            ", ".join(r.spec.settings),
        )
    console.print(table)


@app.command("show")
def show_runbook(runbook_id: str, as_json: JsonOption = False, home: HomeOption = None) -> None:
    """Show one runbook: its metadata, and the variables this site runs it with (from
    the thresholds it follows and heal.runbook_vars in config.yaml)."""
    catalog = load_catalog()
    registry = load_runbooks(catalog, default_playbooks_dir())
    runbook = registry.get(runbook_id)
    site_home = resolve_home(home)
    config = load_site_config(site_home)
    overrides = config.thresholds if config else {}
    site_vars = config.heal.runbook_vars if config else {}
    if config:
        validate_overrides(catalog, overrides, site_home / CONFIG_FILE)
        validate_site_vars(registry, site_vars, site_home / CONFIG_FILE)
    runs_with = resolve(registry, catalog, resolver(overrides), site_vars).get(runbook.id, {})
    document = _document(runbook, runs_with)
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    console.print(yaml.safe_dump(document, sort_keys=False, width=100), markup=False)


def _document(runbook: Runbook, runs_with: dict[str, Any]) -> dict[str, Any]:
    return {
        **runbook.spec.model_dump(mode="json"),
        "playbook": str(runbook.playbook),
        "needs_approval": runbook.needs_approval,
        "runs_with": runbook.site_values(runs_with),
    }
