"""A finished heal action's evidence: its bundle, sealed inside the action's last write.

:func:`osiris.heal.store.finish_action` takes an :class:`ActionSeal` and calls it in the
transaction that writes the action's final row, right after the update: it reads the row
back as written, signs it (:func:`osiris.evidence.bundle.seal_action`) and appends the
bundle to the evidence log. A crash therefore leaves either an unfinished action (settled
by the next heal, which seals it then) or a finished action with its bundle, never one
without the other; `osiris verify` checks that each finished action has its bundle and
that the row still says what was signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from osiris.errors import OsirisError
from osiris.evidence.action import action_artifacts, read_action
from osiris.evidence.bundle import seal_action
from osiris.evidence.clock import system_clock
from osiris.evidence.keys import SiteSigner
from osiris.evidence.log import append_bundles
from osiris.heal.signature import Drift


@dataclass(frozen=True)
class ActionSeal:
    """What an action's bundle holds beyond its row: the pattern it answers (None when
    its check is not in the catalog), the runbook's raw output (None: it did not run to
    the end, or it was lost), the re-run check's raw probe output (None: no re-check)
    and the variables the runbook ran with (None: not known). Raw outputs are
    PHI-scrubbed when sealed."""

    signer: SiteSigner
    drift: Drift | None
    runbook_output: str | None = field(default=None, repr=False)
    recheck_output: bytes | None = field(default=None, repr=False)
    runbook_vars: Mapping[str, Any] | None = None

    def __call__(self, db: sqlite_utils.Database, action_id: int) -> None:
        """Sign the action's row as now written and append it to the evidence log; must
        run inside the transaction that wrote the row."""
        row = read_action(db.conn, action_id)
        if row is None:
            raise OsirisError(f"heal action {action_id} is not in the database")
        pattern = None if self.drift is None else self.drift.with_runbook(row[4]).signature
        bundle = seal_action(
            self.signer,
            _run_of(db, action_id, row[1]),
            row,
            pattern=pattern,
            runbook_vars=self.runbook_vars,
            artifacts=action_artifacts(self.runbook_output, self.recheck_output, row[10] or ""),
            clock=system_clock(),
        )
        append_bundles(db, [bundle])


def _run_of(db: sqlite_utils.Database, action_id: int, incident_id: int) -> int:
    """The scan whose drift the action answers: the incident's latest run (the newest run
    for an incident that has none recorded)."""
    row = db.execute(
        "SELECT coalesce((SELECT last_run_id FROM incidents WHERE id = ?),"
        " (SELECT max(id) FROM runs))",
        [incident_id],
    ).fetchone()
    if row is None or row[0] is None:
        raise OsirisError(f"heal action {action_id}: no scan run to file its evidence under")
    return int(row[0])
