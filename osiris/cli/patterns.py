"""`osiris patterns`: what the flywheel learned, and promoting it to L1 rules."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from osiris.catalog import default_catalog_dir, load_catalog
from osiris.cli.common import HomeOption, JsonOption, console
from osiris.config import FlywheelConfig
from osiris.heal import promotion
from osiris.heal.flywheel import PatternStats, candidates, find_pattern, list_patterns
from osiris.heal.runbooks import default_playbooks_dir, load_runbooks
from osiris.site import open_site

app = typer.Typer(
    help="Learned patterns (drift + runbook) and their measured fixes; promote the reliable"
    " ones to L1 rules.",
    no_args_is_help=True,
)

SignatureArgument = Annotated[
    str, typer.Argument(help="Pattern signature, or its first 8 or more characters.")
]


def _now() -> datetime:
    return datetime.now(UTC)


@app.command("list")
def list_command(as_json: JsonOption = False, home: HomeOption = None) -> None:
    """Every pattern, most recently seen first."""
    site = open_site(home)
    _show(list_patterns(site.database()), site.config.flywheel, as_json, "Patterns")


@app.command("candidates")
def candidates_command(as_json: JsonOption = False, home: HomeOption = None) -> None:
    """Patterns that have earned an L1 rule: enough measured fixes, enough good, enough by
    L2 (thresholds: `flywheel` in config.yaml)."""
    site = open_site(home)
    config = site.config.flywheel
    _show(candidates(site.database(), config), config, as_json, "Candidates")


@app.command("promote")
def promote_command(
    signature: SignatureArgument,
    force: Annotated[
        bool, typer.Option("--force", help="Promote a pattern that is not a candidate.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Write the pattern's L1 rule to <home>/rules/promoted.yaml: the next heal fixes this
    drift without asking the L2 planner."""
    site = open_site(home)
    catalog = load_catalog()
    pattern, rule_id = promotion.promote(
        site.database(),
        site.home,
        signature,
        catalog=catalog,
        runbooks=load_runbooks(catalog, default_playbooks_dir()),
        builtin_dir=default_catalog_dir(),
        config=site.config.flywheel,
        now=_now(),
        force=force,
        # the rails the pattern was learned under: only the LLM call goes away
        cooldown=site.config.l2.cooldown,
        max_retries=site.config.l2.max_attempts,
    )
    console.print(
        f"pattern {pattern.signature} promoted: rule {rule_id} runs {pattern.runbook_id}"
        f" for {pattern.check_id} ({promotion.promoted_path(site.home)})",
        markup=False,
        soft_wrap=True,
    )


@app.command("demote")
def demote_command(
    signature: SignatureArgument,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (kept with the pattern).")
    ] = "demoted by an operator",
    home: HomeOption = None,
) -> None:
    """Remove the pattern's promoted rule; the pattern is no candidate again until promoted
    on purpose."""
    site = open_site(home)
    db = site.database()
    before = find_pattern(db, signature)
    pattern = promotion.demote(db, site.home, signature, reason=reason, now=_now())
    what = f"rule {before.promoted_rule_id} removed" if before.promoted else "no rule to remove"
    console.print(f"pattern {pattern.signature} demoted: {what}", markup=False, soft_wrap=True)


def _show(
    patterns: Sequence[PatternStats], config: FlywheelConfig, as_json: bool, title: str
) -> None:
    if as_json:
        typer.echo(json.dumps([p.to_dict(config) for p in patterns], indent=2))
        return
    table = Table(
        title=title,
        title_justify="left",
        caption="good: measured fixes that passed the re-run check; L1, L2: passed/failed",
        caption_justify="left",
    )
    table.add_column("pattern", no_wrap=True)
    for column in ("check", "drift", "runbook", "good", "L1", "L2", "state"):
        table.add_column(column)
    for p in patterns:
        rate = p.success_rate
        table.add_row(
            p.signature[:12],
            p.check_id,
            f"{p.status} {p.finding or '-'}",
            p.runbook_id,
            "-" if rate is None else f"{p.successes}/{p.occurrences} {rate:.0%}",
            f"{p.l1_successes}/{p.l1_failures}",
            f"{p.l2_successes}/{p.l2_failures}",
            Text(p.state(config).value + (f" ({p.promoted_rule_id})" if p.promoted else "")),
        )
    console.print(table)
