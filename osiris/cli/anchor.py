"""`osiris anchor`: timestamp the latest signed checkpoint with OpenTimestamps.

Exit codes: 0 done (or nothing to do); 2 no calendar answered, or bad usage.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from osiris.cli.common import HomeOption, JsonOption, console
from osiris.errors import OsirisError
from osiris.evidence.anchor import (
    AnchorError,
    stamp,
    store_anchor,
    stored_anchors,
    upgrade,
)
from osiris.evidence.keys import SiteSigner, load_signing_key
from osiris.evidence.log import checkpoint_covering_all, stored_checkpoints
from osiris.evidence.ots import TimestampFile
from osiris.site import Site, open_site


def register(app: typer.Typer) -> None:
    app.command("anchor")(anchor)


def anchor(
    calendar: Annotated[
        list[str] | None,
        typer.Option(
            "--calendar",
            help="Calendar URL (repeatable); default: anchor.calendars in config.yaml.",
        ),
    ] = None,
    upgrade_: Annotated[
        bool,
        typer.Option("--upgrade", help="Ask the calendars to complete pending proofs instead."),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.1, help="Seconds per calendar request."),
    ] = None,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Stamp the latest signed checkpoint on OpenTimestamps calendars.

    The SHA-256 of the checkpoint note is submitted (behind a random nonce) to every
    calendar; their answers are merged into one .ots proof, stored with the checkpoint
    (a new checkpoint is signed first if the log grew since the last one). Calendars
    put it in a Bitcoin block within hours: `osiris anchor --upgrade` then fetches the
    completed proofs. `osiris verify --block-headers FILE` checks them offline.
    """
    site = open_site(home)
    calendars = list(calendar or site.config.anchor.calendars)
    seconds = timeout or site.config.anchor.timeout
    if not calendars:
        raise OsirisError("no calendar: give --calendar URL or set anchor.calendars")
    document = _upgrade(site, calendars, seconds) if upgrade_ else _stamp(site, calendars, seconds)
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    for line in document["lines"]:
        console.print(escape(line))


def _stamp(site: Site, calendars: list[str], timeout: float) -> dict[str, Any]:
    db = site.database()
    checkpoint = checkpoint_covering_all(
        db, lambda: SiteSigner(site.config.site_id, load_signing_key(site.private_key_path))
    )
    if any(a.checkpoint_id == checkpoint.id for a in stored_anchors(db, latest_only=True)):
        line = f"checkpoint {checkpoint.id} ({checkpoint.size} leaves) is already anchored"
        return {"checkpoint": checkpoint.id, "anchored": False, "lines": [line]}
    try:
        outcome = stamp(checkpoint.note, calendars, timeout)
    except AnchorError as exc:
        raise OsirisError(str(exc)) from None
    anchor_id = store_anchor(db, checkpoint, outcome.proof.to_bytes())
    lines = [
        f"checkpoint {checkpoint.id} ({checkpoint.size} leaves) stamped on"
        f" {len(outcome.calendars)} calendar(s): {', '.join(outcome.calendars)}",
        *(f"not stamped by {error}" for error in outcome.errors),
        "the proof is pending until a calendar puts it in a Bitcoin block:"
        " run `osiris anchor --upgrade` in a few hours",
    ]
    return {
        "checkpoint": checkpoint.id,
        "tree_size": checkpoint.size,
        "anchor": anchor_id,
        "anchored": True,
        "calendars": outcome.calendars,
        "errors": outcome.errors,
        "lines": lines,
    }


def _upgrade(site: Site, calendars: list[str], timeout: float) -> dict[str, Any]:
    db = site.database()
    checkpoints = {c.id: c for c in stored_checkpoints(db)}
    upgraded, lines = [], []
    pending = [a for a in stored_anchors(db, latest_only=True) if not a.complete]
    for stored in pending:
        proof = TimestampFile.from_bytes(stored.proof)
        changed, notes = upgrade(proof, calendars, timeout)
        lines += [f"checkpoint {stored.checkpoint_id}: {note}" for note in notes]
        if changed:
            store_anchor(db, checkpoints[stored.checkpoint_id], proof.to_bytes())
            state = "complete" if proof.complete else "upgraded, still pending"
            lines.append(f"checkpoint {stored.checkpoint_id}: proof {state}")
            upgraded.append(stored.checkpoint_id)
    if not pending:
        lines.append("no pending proof to upgrade")
    return {"pending": len(pending), "upgraded": upgraded, "lines": lines}
