"""`osiris l2 log`: what the L2 planner was asked, what it answered, what it cost."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from osiris.cli.common import HomeOption, JsonOption, console
from osiris.heal.l2.log import list_calls
from osiris.site import open_site
from osiris.store.readonly import open_read_only

app = typer.Typer(help="The L2 planner (an LLM choosing runbooks).", no_args_is_help=True)


@app.command("log")
def log_command(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many rows.")] = 50,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """L2 calls and cache hits, newest first.

    Model, tokens, cost, the answer, what the guardrails made of it and the outcome of
    the action it started; --json adds the scrubbed prompt as sent.
    """
    rows = list_calls(open_read_only(open_site(home).db_path), limit)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="L2 calls", title_justify="left")
    for column in ("id", "at", "host", "check", "answer", "conf", "verdict", "tokens", "$"):
        table.add_column(column)
    table.add_column("outcome")
    for row in rows:
        confidence = row["confidence"]
        cached = row["cached_from"]
        table.add_row(
            str(row["id"]),
            row["at"][:19],
            row["host"],
            row["check_id"],
            Text(row["decision"] or ""),
            "" if confidence is None else f"{confidence:.2f}",
            row["verdict"],
            f"cache of {cached}" if cached else f"{row['input_tokens']}/{row['output_tokens']}",
            f"{row['cost']:.4f}",
            Text(row["outcome"] or row["error"] or ""),
        )
    console.print(table)
