"""`osiris verify` and `osiris checkpoint export`: prove the evidence, keep a checkpoint.

Exit codes of `osiris verify`: 0 the evidence is whole; 1 a property failed (each is
named; a site whose database is missing or empty is not whole); 2 bad usage, no site,
or a database SQLite cannot read (one line naming the file); 130 interrupted (SIGINT or
SIGTERM: `--json` still prints the report, its status "interrupted"). Verify opens the
database read-only and writes nothing, so it works on an auditor's read-only copy.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from osiris import interrupts
from osiris.cli.common import ExitCode, HomeOption, JsonOption, console
from osiris.cli.output import ForceOption, check_output, written_whole
from osiris.errors import DatabaseMissing, InputError
from osiris.evidence.anchors_check import BlockHeader, read_block_headers
from osiris.evidence.keyfiles import KeyFiles, genesis_key
from osiris.evidence.keys import SiteSigner, keyid, load_signing_key, load_verify_key
from osiris.evidence.log import checkpoint_covering_all
from osiris.evidence.report import MAX_LISTED, VerifyReport
from osiris.evidence.verify import Trust, VerifyInterrupted, missing_database, verify_log
from osiris.site import Site, open_site
from osiris.store.readonly import open_read_only

checkpoint_app = typer.Typer(
    help="Signed checkpoints of the evidence log.", no_args_is_help=True, add_completion=False
)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.add_typer(checkpoint_app, name="checkpoint")


def _since(value: str | None) -> str | None:
    """A date or ISO time (UTC when no zone) as the stored timestamp format."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"'{value}' is not a date (YYYY-MM-DD) or ISO time", field="--since"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _trust(site: Site) -> Trust:
    """Trust starts from the site's first key (keys/genesis.pub once it has rotated)."""
    key = genesis_key(KeyFiles(site.private_key_path.parent))
    return Trust(site.config.site_id, {keyid(key): key})


def _block_headers(path: Path | None) -> list[BlockHeader] | None:
    if path is None:
        return None
    try:
        return read_block_headers(path.read_bytes())
    except ValueError as exc:
        raise InputError(str(exc), file=path, field="--block-headers") from None


def verify(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Check the bundles of runs started on or after this date or ISO time"
            " (UTC unless it names a zone). The log itself is always checked whole.",
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            exists=True,
            dir_okay=False,
            help="A checkpoint kept elsewhere (`osiris checkpoint export`): the log must"
            " extend it.",
        ),
    ] = None,
    block_headers: Annotated[
        Path | None,
        typer.Option(
            "--block-headers",
            exists=True,
            dir_okay=False,
            help="Bitcoin block headers (80-byte records, or hex lines `[HEIGHT] HEX`) to"
            " check OpenTimestamps proofs against.",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", min=1, help="Processes checking bundles (default: one per CPU)."),
    ] = None,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Prove the evidence complete, untampered and signed by this site.

    Checks every envelope's signature by the key valid at its log position (from
    keys/genesis.pub, or keys/site.pub before any rotation, through every signed key
    rotation), every payload against its leaf, the Merkle root against the signed
    checkpoints, every OpenTimestamps proof, and that every host of every run has its
    bundle. Exit 0 when whole, 1 naming each property that fails.
    """
    try:
        report = _verify_site(home, _since(since), checkpoint, block_headers, jobs)
    except VerifyInterrupted as exc:  # (before the checks start: see osiris.cli.commands)
        report = exc.report
    interrupts.settle()  # the outcome is known: print it whole, whatever comes now
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        print_report(report)
    if report.interrupted:
        raise typer.Exit(ExitCode.INTERRUPTED)
    raise typer.Exit(ExitCode.OK if report.ok else ExitCode.FINDINGS)


def _verify_site(
    home: Path | None,
    since: str | None,
    checkpoint: Path | None,
    block_headers: Path | None,
    jobs: int | None,
) -> VerifyReport:
    site = open_site(home)
    headers = _block_headers(block_headers)
    external = checkpoint.read_text() if checkpoint else None
    trust = _trust(site)
    try:
        db = open_read_only(site.db_path)
    except DatabaseMissing as exc:
        return missing_database(trust, exc.problem, since)
    try:
        report = verify_log(
            db,
            trust,
            since=since,
            external_checkpoint=external,
            block_headers=headers,
            workers=jobs,
        )
    finally:
        db.close()
    current = keyid(load_verify_key(site.public_key_path))
    if report.keyids and current != report.keyids[-1]:
        report.notes.append(
            f"keys/site.pub ({current[:16]}) is not the current key of the rotation chain"
            f" ({report.keyids[-1][:16]}): new evidence would be refused"
        )
    return report


def print_report(report: VerifyReport) -> None:
    console.print(
        f"evidence of site [bold]{escape(report.site_id)}[/] (log {escape(report.origin)},"
        f" key {', '.join(k[:16] for k in report.keyids)})"
    )
    covered = "none" if report.checkpoint_size is None else f"{report.checkpoint_size} leaves"
    console.print(
        f"log: {report.log_size} leaves, root {report.root.hex()[:16]}…;"
        f" latest signed checkpoint: {covered}"
        + (f"; bundles of runs since {report.since}" if report.since else "")
    )
    table = Table(title_justify="left", show_edge=False)
    for column in ("property", "result", "checked"):
        table.add_column(column)
    for result in report.properties.values():
        if result.skipped:
            verdict = "[dim]skipped[/]"
        elif result.ok:
            verdict = "[green]ok[/]"
        else:
            verdict = f"[red]FAILED ({result.failure_count})[/]"
        table.add_row(result.name.value, verdict, str(result.checked))
    console.print(table)
    for result in report.properties.values():
        for failure in result.failures:
            console.print(
                f"[red]✗ {failure.property.value}[/] ({failure.property.description}):"
                f" {escape(failure.subject)}: {escape(failure.detail)}"
            )
        if result.failure_count > MAX_LISTED:
            console.print(f"  … and {result.failure_count - MAX_LISTED} more")
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    if report.interrupted:
        console.print(
            f"[yellow]verify: INTERRUPTED after {report.seconds:.2f} s: the evidence was not"
            " checked whole[/]"
        )
    elif report.ok:
        console.print(f"[green]verify: the evidence is whole[/] ({report.seconds:.2f} s)")
    else:
        failed = ", ".join(p.value for p in report.failed)
        console.print(f"[red]verify: FAILED: {failed}[/] ({report.seconds:.2f} s)")


@checkpoint_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the signed checkpoint note.")],
    force: ForceOption = False,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Write the log's signed checkpoint to FILE, to keep away from this machine.

    If the log grew since the last checkpoint, a new one is signed first, so the file
    always covers every leaf. Later, `osiris verify --checkpoint FILE` proves the log
    only grew since (no truncation, no fork, no replacement). FILE is written whole or
    not at all; an existing one is replaced only with --force.
    """
    check_output(file, force=force)
    site = open_site(home)
    checkpoint = checkpoint_covering_all(
        site.database(),
        lambda: SiteSigner(site.config.site_id, load_signing_key(site.private_key_path)),
    )
    note, size = checkpoint.note, checkpoint.size
    with written_whole(file, force=force) as output:
        output.temporary.write_text(note)
    if as_json:
        typer.echo(json.dumps({"file": str(file), "tree_size": size, "note": note}, indent=2))
    else:
        console.print(f"checkpoint of {size} leaves written to {escape(str(file))}")
