"""`osiris evidence export`: the auditor kit (a zip verifiable without Osiris)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from osiris import interrupts
from osiris.cli.common import ExitCode, HomeOption, JsonOption, console, err_console
from osiris.cli.output import ForceOption, check_output, written_whole
from osiris.errors import InputError
from osiris.evidence.export import KitSummary, export_kit
from osiris.evidence.keyfiles import KeyFiles, genesis_key
from osiris.site import open_site
from osiris.store.readonly import open_read_only

app = typer.Typer(
    help="Evidence for auditors: export a kit.", no_args_is_help=True, add_completion=False
)


def _moment(value: str | None, option: str, *, end: bool) -> str | None:
    """A date or ISO time as the stored timestamp format (UTC unless it names a zone).
    A date as ``--until`` means the end of that day."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"'{value}' is not a date (YYYY-MM-DD) or ISO time", field=option
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if end and len(value) == 10:  # a bare date: through the end of that day
        moment += timedelta(days=1)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="The kit to write (a .zip).")],
    since: Annotated[
        str | None,
        typer.Option("--since", help="First day (or ISO time) of bundles to include."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Last day included (or ISO time, excluded)."),
    ] = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Write an auditor kit: the period's signed bundles (JSON lines), their raw
    artifacts and inclusion proofs, checkpoints with consistency and OpenTimestamps
    proofs, public keys and rotations, a README for auditors (with the openssl commands
    that check a signature by hand) and verify.py (Python standard library + PyNaCl).

    Only reads the site (it works on a read-only copy). OUT is written whole or not at
    all, and an existing file is replaced only with --force. Exit 130 when interrupted
    (SIGINT or SIGTERM): nothing is written, and --json says "status": "interrupted".
    """
    start, end = _moment(since, "--since", end=False), _moment(until, "--until", end=True)
    if start and end and start >= end:
        raise InputError("--since must be before --until", field="--since")
    check_output(out, force=force)
    try:
        site = open_site(home)
        db = open_read_only(site.db_path)
        genesis = genesis_key(KeyFiles(site.private_key_path.parent))
        with written_whole(out, force=force) as output:
            summary = export_kit(
                db, output.temporary, site_id=site.config.site_id, genesis=genesis,
                since=start, until=end,
            )  # fmt: skip
    except KeyboardInterrupt:  # (once the kit is published, signals change nothing)
        interrupts.settle()
        if as_json:
            typer.echo(json.dumps({"status": "interrupted", "file": None}, indent=2))
        err_console.print("evidence export: interrupted; nothing was written")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    _print_summary(out, summary, as_json)


def _print_summary(out: Path, summary: KitSummary, as_json: bool) -> None:
    document = {
        "status": "complete",
        "file": str(out),
        "envelopes": summary.envelopes,
        "artifacts": summary.artifacts,
        "checkpoints": summary.checkpoints,
        "timestamps": summary.timestamps,
        "rotations": summary.rotations,
        "tree_size": summary.tree_size,
        "checkpoint": summary.checkpoint,
        "notes": summary.notes,
    }
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    console.print(
        f"wrote {escape(str(out))}: {summary.envelopes} bundles, {summary.artifacts} artifacts,"
        f" {summary.checkpoints} checkpoints ({summary.timestamps} timestamped),"
        f" {summary.rotations} key rotations; proofs against {summary.tree_size} leaves"
    )
    for note in summary.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    console.print("auditors: unzip it, then `python3 verify.py` (see README.md)")
