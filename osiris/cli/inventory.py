"""`osiris inventory list|check`: what osiris will scan, and whether it can."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from osiris.cli.common import ExitCode, HomeOption, JsonOption, console
from osiris.cli.scan import InventoryOption
from osiris.config import resolve_home
from osiris.model import Host
from osiris.scan.plan import ScanRequest, plan_scan, select_hosts
from osiris.scan.runner import check_connection

app = typer.Typer(
    help="List inventory hosts and test that osiris can reach them.", no_args_is_help=True
)
LimitOption = Annotated[str | None, typer.Option("--limit", "-l", help="Ansible host pattern.")]


def _host_row(host: Host) -> dict[str, object]:
    return {
        "name": host.name,
        "address": host.address,
        "port": host.port,
        "connection": host.connection.value,
        "platform": host.platform.value,
        "role": host.role.value,
        "user": host.user,
        "groups": list(host.groups),
        "password": "set" if host.password else None,
    }


@app.command("list")
def list_hosts(
    inventory: InventoryOption = None,
    limit: LimitOption = None,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Show the hosts (never their passwords)."""
    hosts = select_hosts(
        ScanRequest(home=resolve_home(home), inventories=tuple(inventory or ()), limit=limit)
    )
    if as_json:
        typer.echo(json.dumps([_host_row(h) for h in hosts], indent=2))
        return
    table = Table(title="Inventory", title_justify="left")
    for column in ("name", "address", "connection", "platform", "role", "user", "groups"):
        table.add_column(column)
    for host in hosts:
        address = f"{host.address}:{host.port}" if host.port else host.address
        table.add_row(
            host.name,
            address,
            host.connection.value,
            host.platform.value,
            host.role.value,
            host.user or "",
            ", ".join(host.groups),
        )
    console.print(table)


@app.command("check")
def check_hosts(
    inventory: InventoryOption = None,
    limit: LimitOption = None,
    accept_new_host_keys: Annotated[bool, typer.Option("--accept-new-host-keys")] = False,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Connect to every host: reachability, host key or certificate, authentication."""
    plan = plan_scan(
        ScanRequest(
            home=resolve_home(home),
            inventories=tuple(inventory or ()),
            limit=limit,
            accept_new_host_keys=accept_new_host_keys,
        )
    )

    def attempt(host: Host) -> tuple[Host, str | None]:
        return host, check_connection(host, plan.settings.transport)

    with ThreadPoolExecutor(max_workers=plan.settings.forks) as pool:
        outcomes = list(pool.map(attempt, plan.hosts))
    if as_json:
        typer.echo(
            json.dumps(
                [{"name": h.name, "ok": e is None, "error": e} for h, e in outcomes], indent=2
            )
        )
    else:
        table = Table(title="Inventory check", title_justify="left")
        for column in ("host", "result"):
            table.add_column(column)
        for host, error in outcomes:
            table.add_row(
                host.name, Text(error, style="red") if error else Text("ok", style="green")
            )
        console.print(table)
    if any(error for _, error in outcomes):
        raise typer.Exit(ExitCode.ERROR)
