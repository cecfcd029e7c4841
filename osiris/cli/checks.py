"""`osiris checks list|show`: the catalog."""

from __future__ import annotations

import json
from typing import Annotated

import typer
import yaml
from rich.table import Table

from osiris.catalog import load_catalog
from osiris.cli.common import JsonOption, console
from osiris.errors import InputError
from osiris.model import Platform

app = typer.Typer(help="The check catalog.", no_args_is_help=True)


@app.command("list")
def list_checks(
    platform: Annotated[str | None, typer.Option("--platform", help="linux or windows.")] = None,
    framework: Annotated[
        str | None, typer.Option("--framework", help="Only checks citing this framework.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List checks with their severity and HIPAA citations."""
    catalog = load_catalog().select(framework=framework)
    checks = list(catalog)
    if platform:
        try:
            wanted = Platform(platform)
        except ValueError:
            raise InputError(f"unknown platform '{platform}'", field="--platform") from None
        checks = [c for c in checks if c.platform is wanted]
    if as_json:
        typer.echo(
            json.dumps(
                [c.spec.model_dump(mode="json", exclude={"probe"}) for c in checks], indent=2
            )
        )
        return
    table = Table(title=f"{len(checks)} checks", title_justify="left")
    for column in ("id", "platform", "severity", "title", "HIPAA"):
        table.add_column(column)
    for c in checks:
        table.add_row(
            c.id,
            c.platform.value,
            c.spec.severity.value,
            c.spec.title,
            ", ".join(c.spec.references.hipaa),
        )
    console.print(table)


@app.command("show")
def show_check(check_id: str, as_json: JsonOption = False) -> None:
    """Show one check in full: probe, facts, thresholds, rules, references."""
    check = load_catalog().get(check_id)
    document = check.spec.model_dump(mode="json", exclude_defaults=False)
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    console.print(yaml.safe_dump(document, sort_keys=False, width=100), markup=False)
