"""`osiris scan`: run the catalog against the inventory (or this machine)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from osiris.cli.common import ExitCode, HomeOption, JsonOption, console, err_console
from osiris.cli.junit import write_junit
from osiris.cli.output import ForceOption, check_output
from osiris.cli.render import exit_code_for, print_human, scan_document
from osiris.config import resolve_home
from osiris.errors import InputError
from osiris.inventory.host_list import targets_source
from osiris.model import Connection, Host, HostOutcome
from osiris.scan.plan import ScanRequest, plan_scan
from osiris.scan.session import ScanRun, run_scan
from osiris.site import open_site
from osiris.store.runs import RunStatus
from osiris.transport.cancel import Cancel, cancel_on_signals


class Engine(StrEnum):
    DIRECT = "direct"
    ANSIBLE = "ansible"


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)


InventoryOption = Annotated[
    list[Path] | None,
    typer.Option(
        "-i",
        "--inventory",
        help="Ansible inventory (YAML, INI, a directory, or hosts as 'web1,root@db1:2222,');"
        " may repeat.",
    ),
]
TargetsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Hosts to scan over SSH, as user@host:port (user and port optional), instead"
        " of an inventory (host keys from known_hosts). Neither: this machine.",
        show_default=False,
    ),
]


def inventory_sources(inventory: list[Path] | None, targets: list[str] | None) -> tuple[Path, ...]:
    """The -i sources, or the hosts given as arguments as one host list (not both: with
    an inventory, choose its hosts with --limit)."""
    if targets and inventory:
        raise InputError(
            "give hosts as arguments or with -i, not both (--limit chooses inventory hosts)"
        )
    if targets:
        return (Path(targets_source(targets)),)
    return tuple(inventory or ())


def partial_view_warning(hosts: Sequence[Host], euid: int) -> str | None:
    """One line to say before a scan of this machine by a user who is not root: probes
    cannot read protected files (e.g. /etc/shadow), and those checks will be error."""
    if euid == 0 or not any(h.connection is Connection.LOCAL and not h.become for h in hosts):
        return None
    return (
        f"osiris: scanning this machine as uid {euid}, not root: checks that read protected"
        " files will be error and the results partial; run as root for a full scan"
    )


def _csv(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def scan(
    targets: TargetsArgument = None,
    inventory: InventoryOption = None,
    limit: Annotated[
        str | None, typer.Option("--limit", "-l", help="Ansible host pattern.")
    ] = None,
    checks: Annotated[
        list[str] | None, typer.Option("--checks", help="Check ids, comma separated.")
    ] = None,
    tags: Annotated[list[str] | None, typer.Option("--tags", help="Check tags.")] = None,
    framework: Annotated[
        str | None, typer.Option("--framework", help="Only checks citing this framework.")
    ] = None,
    forks: Annotated[
        int | None, typer.Option("--forks", min=1, help="Parallel hosts (16).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=1, help="Seconds per host (300).")
    ] = None,
    engine: Annotated[Engine, typer.Option("--engine", help="direct or ansible.")] = Engine.DIRECT,
    accept_new_host_keys: Annotated[
        bool,
        typer.Option("--accept-new-host-keys", help="Trust and record keys of hosts never seen."),
    ] = False,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write JUnit XML here.")
    ] = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Scan hosts and record every result. Exit 0 clean, 1 findings, 2 errors,
    130 interrupted (SIGINT or SIGTERM: probes stopped, completed hosts recorded)."""
    if junit:
        check_output(junit, force=force, option="--junit")  # before anything is scanned
    request = ScanRequest(
        home=resolve_home(home),
        inventories=inventory_sources(inventory, targets),
        limit=limit,
        check_ids=_csv(checks),
        tags=_csv(tags),
        framework=framework,
        forks=forks,
        timeout=timeout,
        accept_new_host_keys=accept_new_host_keys,
    )
    # from here a signal trips the token, and the scan stops at a point of its choosing;
    # one arriving after the scan is ignored, so the output is never cut in half
    with cancel_on_signals() as cancel:
        run, site_id = _scan(request, engine, cancel)
        if run.status is RunStatus.INTERRUPTED:
            err_console.print("osiris: scan interrupted; completed hosts were recorded")
            code: int = ExitCode.INTERRUPTED
        else:
            code = exit_code_for(run.outcomes)
            if junit:
                write_junit(run.outcomes, junit, force=force)
        if as_json:
            document = scan_document(
                run.outcomes,
                run_id=run.run_id,
                status=run.status.value,
                site_id=site_id,
                exit_code=code,
            )
            typer.echo(json.dumps(document, indent=2, sort_keys=False))
        else:
            print_human(console, run.outcomes, run.run_id)
    raise typer.Exit(code)


def _scan(request: ScanRequest, engine: Engine, cancel: Cancel) -> tuple[ScanRun, str]:
    plan = plan_scan(request)  # all input validated before anything is written
    warning = partial_view_warning(plan.hosts, os.geteuid())
    if warning:
        err_console.print(warning, markup=False, highlight=False, soft_wrap=True)
    site = open_site(request.home, auto_init=True)
    db = site.database()
    signer = site.signer()  # a bad key stops the scan before anything is written
    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("hosts"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,  # a log or a pipe gets no stray blank line
    ) as progress:
        task = progress.add_task("scan", total=len(plan.hosts))

        def advance(_: HostOutcome) -> None:
            progress.advance(task)

        run = run_scan(
            db,
            plan.hosts,
            plan.checks,
            plan.thresholds_for,
            plan.settings,
            engine=engine.value,
            signer=signer,
            inventory=plan.inventory_sources,
            on_outcome=advance,
            cancel=cancel,
        )
    return run, site.config.site_id
