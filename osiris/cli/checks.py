"""`osiris checks list|show`: the catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from osiris.catalog import default_catalog_dir, load_catalog
from osiris.catalog.docs import render_markdown
from osiris.cli.common import JsonOption, PlatformOption, console, parse_platform
from osiris.lint import lint

app = typer.Typer(help="The check catalog.", no_args_is_help=True)


@app.command("list")
def list_checks(
    platform: PlatformOption = None,
    framework: Annotated[
        str | None, typer.Option("--framework", help="Only checks citing this framework.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List checks with their severity and HIPAA citations."""
    catalog = load_catalog().select(framework=framework)
    checks = list(catalog)
    wanted = parse_platform(platform)
    if wanted is not None:
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


@app.command("lint")
def lint_checks(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Catalog directory (default: the shipped one).")
    ] = None,
) -> None:
    """Schema, citations, PowerShell syntax and test coverage of every check, and the
    thresholds each runbook follows. Exit 1 on any problem."""
    catalog_dir = directory or default_catalog_dir()
    tests_dir = catalog_dir.parent / "tests"
    playbooks_dir = catalog_dir.parent / "playbooks"  # beside the catalog, as in a checkout
    problems = lint(
        catalog_dir,
        tests_dir if tests_dir.is_dir() else None,
        playbooks_dir if playbooks_dir.is_dir() else None,
    )
    for problem in problems:
        typer.echo(problem)
    count = len(list(catalog_dir.glob("*.yaml")))
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {count} checks", err=True)
        raise typer.Exit(1)
    typer.echo(f"{count} checks: clean")


@app.command("docs")
def docs(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
) -> None:
    """The catalog as Markdown (docs/checks.md)."""
    text = render_markdown(load_catalog())
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text)
    console.print(f"wrote {output}")
