"""`osiris keys rotate` and `osiris keys list`: the site's evidence signing keys."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from osiris.cli.common import HomeOption, JsonOption, console
from osiris.evidence.keyfiles import KeyFiles, finish_rotation, genesis_key, rotate_key
from osiris.evidence.keys import keyid
from osiris.evidence.keys_check import check_rotation_chain
from osiris.evidence.report import Property, PropertyResult
from osiris.evidence.rotation import stored_rotations
from osiris.site import Site, open_site

app = typer.Typer(
    help="The site's evidence signing keys: rotate, list.",
    no_args_is_help=True,
    add_completion=False,
)


def key_files(site: Site) -> KeyFiles:
    return KeyFiles(site.private_key_path.parent)


@app.command("rotate")
def rotate(
    reason: Annotated[
        str, typer.Option("--reason", help="Why (kept in the signed rotation record).")
    ] = "scheduled rotation",
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Replace the signing key with a new Ed25519 key.

    The rotation record (new public key, keyid, log position, time, reason) is signed
    by the old key and the new one and stored; new evidence is signed with the new key.
    The old public key is kept (keys/retired/); the old private key is overwritten and
    deleted. `osiris verify` follows the rotations from the site's first key
    (keys/genesis.pub).
    """
    site = open_site(home)
    files = key_files(site)
    rotation = rotate_key(site.database(), files, site.config.site_id, reason)
    document = {
        "sequence": rotation.sequence,
        "previous_keyid": rotation.previous_keyid,
        "keyid": rotation.keyid,
        "public_key": rotation.public_key.hex(),
        "log_size": rotation.log_size,
        "rotated_at": rotation.rotated_at,
        "reason": rotation.reason,
        "retired_public_key": str(files.retired(rotation.previous_keyid)),
    }
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    console.print(
        f"rotation {rotation.sequence}: key {rotation.previous_keyid[:16]} retired, key"
        f" [bold]{rotation.keyid[:16]}[/] signs from leaf {rotation.log_size} on"
    )
    console.print(
        "the old private key was deleted; its public key is kept in"
        f" {escape(str(files.retired(rotation.previous_keyid)))}"
    )


@app.command("list")
def list_keys(as_json: JsonOption = False, home: HomeOption = None) -> None:
    """Show the key chain from the genesis key, each key's span of the log, and
    whether every rotation record is signed by the key it retires."""
    site = open_site(home)
    db = site.database()
    files = key_files(site)
    if finish_rotation(db, files):
        console.print("[dim]completed an interrupted rotation[/]")
    genesis = genesis_key(files)
    result = PropertyResult(Property.ROTATION_CHAIN)
    chain, _ = check_rotation_chain(
        result, stored_rotations(db), {keyid(genesis): genesis}, site.config.site_id
    )
    rows = [
        {
            "keyid": epoch.keyid,
            "first_leaf": epoch.first_leaf,
            "end_leaf": epoch.end_leaf,
            "sequence": epoch.sequence,
            "current": epoch.end_leaf is None,
        }
        for epoch in (chain.epochs if chain else ())
    ] or [{"keyid": keyid(genesis), "first_leaf": 0, "end_leaf": None, "sequence": 0,
           "current": True}]  # fmt: skip
    failures = [f"{f.subject}: {f.detail}" for f in result.failures]
    if as_json:
        typer.echo(json.dumps({"keys": rows, "chain_ok": result.ok, "failures": failures}))
        return
    table = Table(show_edge=False, title_justify="left")
    for column in ("keyid", "made by", "signs leaves"):
        table.add_column(column)
    for row in rows:
        made = "genesis" if row["sequence"] == 0 else f"rotation {row['sequence']}"
        end = "on" if row["end_leaf"] is None else f"to {int(row['end_leaf']) - 1}"
        table.add_row(str(row["keyid"])[:16], made, f"{row['first_leaf']} {end}")
    console.print(table)
    for failure in failures:
        console.print(f"[red]✗ rotation_chain: {escape(failure)}[/]")
