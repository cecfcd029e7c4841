"""Reconciling an action a dead heal left running: whatever of its runbook is still alive
is ended, and its private directory removed, before the action is settled.

A real site (its key, its SQLite), real processes: a process group started in the
action's runbook directory with the leash's record stands in for a playbook whose leash
did not end it (the leash itself is tested in tests/unit/test_ansible_leash.py). The
action's host is not in this heal's inventory, so it is settled without a re-check.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
from pathlib import Path

from osiris.ansible.leash import RECORD
from osiris.catalog import load_catalog
from osiris.config import HealConfig
from osiris.heal.action import runbook_dir
from osiris.heal.inputs import HealInputs
from osiris.heal.reconcile import reconcile, unsettled
from osiris.heal.runbooks import load_runbooks
from osiris.scan.runner import ScanSettings
from osiris.site import init_site
from tests.unit.test_heal_evidence import running_action, signer_of

CATALOG = load_catalog()


def gone_within(pid: int, seconds: float) -> bool:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], seconds)[0])
    finally:
        os.close(fd)


def test_a_runbook_left_alive_is_ended_before_its_action_is_settled(tmp_path: Path) -> None:
    site = init_site(tmp_path / "home", "clinic-a")
    db = site.database()
    signer = signer_of(site)
    action_id = running_action(db, signer)
    directory = runbook_dir(site.home, action_id)
    directory.mkdir(parents=True)
    leftover = subprocess.Popen(  # the leash and the playbook below it
        ["sh", "-c", "sleep 600 & exec sleep 602"], start_new_session=True
    )
    start = Path(f"/proc/{leftover.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    (directory / RECORD).write_text(json.dumps({"pid": leftover.pid, "start": start}))
    (directory / "inventory.json").write_text("{}")
    inputs = HealInputs(
        hosts=(),
        catalog=CATALOG,
        runbooks=load_runbooks(CATALOG),
        rules=(),
        thresholds_for=lambda check: check.default_thresholds(),
        settings=ScanSettings(),
        config=HealConfig(),
        signer=signer,
    )
    assert unsettled(db) == [
        f"action {action_id} (linux_test_fix on ws1): unfinished; the next heal settles it"
    ]
    assert leftover.poll() is None  # a dry run's look at it ends nothing
    try:
        (note,) = reconcile(db, inputs, site.home)
    finally:  # a failing test leaves nothing running
        if leftover.poll() is None:
            os.killpg(leftover.pid, 9)
    assert note == (
        f"action {action_id} on ws1: interrupted, host not re-checked;"
        " ended 2 process(es) of its runbook first"
    )
    leftover.wait(timeout=5)
    assert gone_within(leftover.pid, 1)
    assert not directory.exists()
    state, detail = db.execute(
        "SELECT state, detail FROM heal_actions WHERE id = ?", [action_id]
    ).fetchone()
    assert state == "reconciled" and detail.endswith("ended 2 process(es) of its runbook first")
    assert reconcile(db, inputs, site.home) == []  # settled once
