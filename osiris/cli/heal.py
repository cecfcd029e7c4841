"""`osiris heal` and `osiris history`."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from osiris.catalog import default_catalog_dir, load_catalog
from osiris.cli.common import ExitCode, HomeOption, JsonOption, console, err_console
from osiris.cli.scan import InventoryOption, _csv
from osiris.config import resolve_home
from osiris.heal.inputs import HealInputs
from osiris.heal.intent import IntentKind, Plan
from osiris.heal.l2 import planner_for
from osiris.heal.rules import load_rules, rule_files
from osiris.heal.runbooks import default_playbooks_dir, load_runbooks
from osiris.heal.session import HealReport, HealStatus, describe, heal
from osiris.heal.store import history as action_history
from osiris.heal.variables import resolve, validate_site_vars
from osiris.scan.plan import ScanRequest, plan_scan
from osiris.site import CONFIG_FILE, Site, open_site


def register(app: typer.Typer) -> None:
    app.command("heal")(heal_command)
    app.command("history")(history_command)


def heal_command(
    inventory: InventoryOption = None,
    limit: Annotated[
        str | None, typer.Option("--limit", "-l", help="Ansible host pattern.")
    ] = None,
    checks: Annotated[
        list[str] | None, typer.Option("--checks", help="Only these check ids.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Plan and preview every fix in check mode; record the scan, nothing else"
            " (no incident, approval, action, L2 call or escalation).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Act without asking.")] = False,
    accept_new_host_keys: Annotated[bool, typer.Option("--accept-new-host-keys")] = False,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Scan, open incidents for drift, and fix what an L1 rule covers (or, with an API
    key configured, what the L2 planner chooses), verifying each fix.

    Exit 0 when nothing is left to do, 1 when drift remains (failed, escalated, waiting
    for approval or deferred), 2 on bad input, 130 when interrupted (the JSON document,
    if asked for, says "status": "interrupted").
    """
    request = ScanRequest(
        home=resolve_home(home),
        inventories=tuple(inventory or ()),
        limit=limit,
        check_ids=_csv(checks),
        accept_new_host_keys=accept_new_host_keys,
    )
    report = HealReport()
    try:
        site, inputs = _inputs(request)
        heal(
            site.database(),
            site.home,
            inputs,
            dry_run=dry_run,
            confirm=lambda plan: _confirm(plan, yes, as_json),
            report=report,
        )
    except KeyboardInterrupt:  # before the heal began: nothing was done
        report.status = HealStatus.INTERRUPTED
    if as_json:
        typer.echo(json.dumps(_document(report, dry_run), indent=2))
    else:
        _print(report, dry_run)
    if report.status is HealStatus.INTERRUPTED:
        err_console.print("osiris: heal interrupted; an action in flight is settled next heal")
        raise typer.Exit(ExitCode.INTERRUPTED)
    raise typer.Exit(_exit_code(report, dry_run))


def _inputs(request: ScanRequest) -> tuple[Site, HealInputs]:
    """The site and what its heal works with: hosts, catalog, runbooks, rules, keys."""
    scan_plan = plan_scan(request)
    catalog = load_catalog()
    runbooks = load_runbooks(catalog, default_playbooks_dir())
    site = open_site(request.home, auto_init=True)
    rules = load_rules(rule_files(default_catalog_dir(), site.home), catalog, runbooks)
    site_vars = site.config.heal.runbook_vars
    validate_site_vars(runbooks, site_vars, site.home / CONFIG_FILE)
    inputs = HealInputs(
        hosts=scan_plan.hosts,
        catalog=catalog.select(ids=request.check_ids or None),
        runbooks=runbooks,
        rules=rules,
        thresholds_for=scan_plan.thresholds_for,
        settings=scan_plan.settings,
        config=site.config.heal,
        signer=site.signer(),
        flywheel=site.config.flywheel,
        escalation=site.config.escalation,
        secrets_path=site.secrets_path,
        runbook_vars=resolve(runbooks, catalog, scan_plan.thresholds_for, site_vars),
        # the full catalog: a live incident may be of a check this run did not select
        l2=planner_for(
            site.config.l2, site.secrets_path, catalog, runbooks, scan_plan.thresholds_for
        ),
    )
    return site, inputs


def _confirm(plan: Plan, yes: bool, as_json: bool) -> bool:
    if yes:
        return True
    if as_json or not sys.stdin.isatty():
        err_console.print("osiris: the plan needs a yes: run again with --yes to act")
        return False
    err_console.print(_plan_table(plan))
    return typer.confirm(f"Run {len(plan.of(IntentKind.HEAL))} runbook(s)?", err=True)


def _plan_table(plan: Plan) -> Table:
    table = Table(title="Heal plan", title_justify="left")
    for column in ("incident", "host", "check", "status", "decision", "runbook", "held by", "why"):
        table.add_column(column)
    for intent in plan.intents:
        row = describe(intent)
        table.add_row(
            "new" if row["incident"] is None else str(row["incident"]),
            row["host"],
            row["check_id"],
            row["status"],
            Text(row["decision"], style="bold" if intent.kind is IntentKind.HEAL else ""),
            row["runbook"] or "",
            row["rail"] or "",
            Text(row["reason"]),
        )
    return table


def _print(report: HealReport, dry_run: bool) -> None:
    for note in report.reconciled:
        console.print(f"reconciled: {note}", markup=False)
    for note in report.unsettled:
        console.print(f"not reconciled (dry run): {note}", markup=False)
    console.print(_plan_table(report.plan))
    if not report.confirmed:
        console.print("nothing was changed")
    for action in report.actions:
        outcome = Text(action.outcome, style="green" if action.outcome == "succeeded" else "red")
        held = f", held by {action.held_by}" if action.held_by else ""
        console.print(
            Text.assemble(
                f"{action.host} {action.check_id} {action.runbook_id}: ",
                outcome,
                f" ({action.detail}{held})",
            )
        )
        if dry_run and action.diff:
            console.print(action.diff, markup=False, highlight=False)
    for note in report.demoted:
        console.print(f"flywheel: {note}", markup=False)
    _print_notices(report)


def _document(report: HealReport, dry_run: bool) -> dict[str, object]:
    return {
        "schema": "osiris.heal/v1",
        "status": report.status.value,
        "run_id": report.run_id,
        "dry_run": dry_run,
        "confirmed": report.confirmed,
        "reconciled": report.reconciled,
        "unsettled": report.unsettled,
        "plan": [describe(intent) for intent in report.plan.intents],
        "actions": [action.__dict__ for action in report.actions],
        "demoted": report.demoted,
        "escalations": [
            {"escalation": e.escalation_id, "decision": e.decision.value, "notice": e.notice_id}
            for e in report.escalations
        ],
        "notices": {
            "sent": list(report.notices.sent),
            "failed": [
                {"notice": n, "channel": c, "error": error} for n, c, error in report.notices.failed
            ],
            "held": list(report.notices.held),
        },
    }


def _print_notices(report: HealReport) -> None:
    """L3: what was escalated and what the people were sent (`osiris escalations`)."""
    new = sum(1 for e in report.escalations if e.decision.value == "new")
    if report.escalations:
        console.print(f"escalated: {len(report.escalations)} ({new} new)")
    notices = report.notices
    if notices.sent or notices.held:
        console.print(
            f"notices: {len(notices.sent)} sent, {len(notices.held)} held by the rate limit"
        )
    for notice, channel, error in notices.failed:
        console.print(
            f"notice {notice} via {channel} failed (retried next heal): {error}", markup=False
        )


def _exit_code(report: HealReport, dry_run: bool) -> int:
    done = (IntentKind.HEAL, IntentKind.EXCEPTED)
    waiting = [i for i in report.plan.intents if i.kind not in done]
    unhealed = any(a.outcome not in ("succeeded", "dry_run") for a in report.actions)
    acted = report.confirmed and not dry_run
    left = waiting or unhealed or (report.plan.of(IntentKind.HEAL) and not acted)
    return ExitCode.FINDINGS if left else ExitCode.OK


def history_command(
    last: Annotated[int, typer.Option("--last", min=1, help="How many actions.")] = 50,
    as_json: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Heal actions, newest first, with what the re-run check said."""
    rows = action_history(open_site(home).database(), last)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Heal history", title_justify="left")
    for column in ("action", "incident", "host", "check", "runbook", "state", "after", "started"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["incident_id"]),
            row["host"],
            row["check_id"],
            row["runbook_id"],
            row["state"],
            row["post_status"] or "",
            row["started_at"],
        )
    console.print(table)
