"""Sealing a bundle: statement → scrub → RFC 8785 → DSSE envelope signed by the site.

A :class:`Bundle` is everything the log stores for one host in one run: the envelope
JSON (frozen from here on), the payload digest, the leaf hash and the raw artifacts.
Sealing is pure; appending it is :func:`osiris.evidence.log.append_bundles`, inside the
transaction that writes the results (a scan) or the action's final row (a heal action),
so records and evidence are committed together or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from osiris.evidence.action import HEAL_PREDICATE_TYPE, ActionRow, heal_predicate
from osiris.evidence.clock import ClockInfo
from osiris.evidence.dsse import IN_TOTO_PAYLOAD_TYPE, sign_envelope
from osiris.evidence.keys import SiteSigner
from osiris.evidence.merkle import leaf_hash
from osiris.evidence.statement import (
    SCAN_PREDICATE_TYPE,
    Artifact,
    canonical_payload,
    scan_artifacts,
    scan_predicate,
    statement,
)
from osiris.model import HostOutcome


@dataclass(frozen=True)
class Bundle:
    run_id: int
    host: str
    kind: str
    envelope_json: str
    payload_sha256: str
    leaf_hash: bytes
    keyid: str
    artifacts: tuple[Artifact, ...] = ()
    action_id: int | None = None  # the heal action a ``heal`` bundle is the evidence of


def seal(
    signer: SiteSigner,
    *,
    run_id: int,
    host: str,
    kind: str,
    subjects: Sequence[Artifact],
    predicate_type: str,
    predicate: Mapping[str, Any],
    action_id: int | None = None,
) -> Bundle:
    """Build, scrub, canonicalise and sign one statement."""
    payload = canonical_payload(statement(subjects, predicate_type, predicate))
    envelope = sign_envelope(payload, IN_TOTO_PAYLOAD_TYPE, signer.signing_key)
    return Bundle(
        run_id=run_id,
        host=host,
        kind=kind,
        envelope_json=envelope.to_json(),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        leaf_hash=leaf_hash(payload),
        keyid=envelope.signatures[0].keyid,
        artifacts=tuple(a for a in subjects if a.content is not None),
        action_id=action_id,
    )


def seal_scan(
    signer: SiteSigner,
    run_id: int,
    outcome: HostOutcome,
    *,
    finished: datetime,
    clock: ClockInfo,
) -> Bundle:
    """The bundle for one host's scan outcome (``finished``: when it arrived)."""
    started = finished - timedelta(milliseconds=outcome.duration_ms)
    predicate = scan_predicate(
        site_id=signer.site_id,
        run_id=run_id,
        outcome=outcome,
        started=started,
        finished=finished,
        clock=clock,
    )
    return seal(
        signer,
        run_id=run_id,
        host=outcome.host.name,
        kind="scan",
        subjects=scan_artifacts(outcome),
        predicate_type=SCAN_PREDICATE_TYPE,
        predicate=predicate,
    )


def seal_action(
    signer: SiteSigner,
    run_id: int,
    row: ActionRow,
    *,
    pattern: str | None,
    artifacts: Sequence[Artifact],
    clock: ClockInfo,
    runbook_vars: Mapping[str, Any] | None = None,
) -> Bundle:
    """The bundle for one finished heal action (``row``: its final ``heal_actions`` row;
    ``run_id``: the scan whose drift it answers; ``runbook_vars``: what the runbook ran
    with, None when not known)."""
    predicate = heal_predicate(
        site_id=signer.site_id,
        run_id=run_id,
        row=row,
        pattern=pattern,
        clock=clock,
        runbook_vars=runbook_vars,
    )
    return seal(
        signer,
        run_id=run_id,
        host=row[2],
        kind="heal",
        subjects=artifacts,
        predicate_type=HEAL_PREDICATE_TYPE,
        predicate=predicate,
        action_id=row[0],
    )
