"""The auditor kit: a zip an auditor can verify without Osiris.

:func:`export_kit` writes the envelopes appended in a period (verbatim, as JSON lines),
their raw artifacts, inclusion proofs against the newest signed checkpoint, the
checkpoints of the period with consistency proofs to the newest, their OpenTimestamps
proofs, every site public key (hex and PEM) and the rotation records, a README for
auditors and ``verify.py`` (standard library + PyNaCl). The file layout is described in
:mod:`osiris.evidence.kit.readme`.

Exporting only reads: it works on an auditor's read-only copy of a site. Leaves newer
than the newest signed checkpoint (a scan killed before its checkpoint) are left out and
said so; the next run's checkpoint, or `osiris checkpoint export`, covers them.
"""

from __future__ import annotations

import base64
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils
from nacl.signing import VerifyKey

from osiris.errors import OsirisError
from osiris.evidence.anchor import stored_anchors
from osiris.evidence.keys import keyid, log_origin, public_key_pem
from osiris.evidence.kit.readme import render_readme
from osiris.evidence.log import (
    StoredCheckpoint,
    prove_consistency,
    prove_inclusion,
    stored_checkpoints,
    tree_size,
)
from osiris.evidence.rotation import stored_rotations

VERIFIER = Path(__file__).parent / "kit" / "verify.py"


class NothingToExport(OsirisError):
    """The log has no signed checkpoint yet: there is nothing a kit could prove."""


@dataclass(frozen=True)
class KitSummary:
    """What went into a kit."""

    envelopes: int
    artifacts: int
    checkpoints: int
    timestamps: int
    rotations: int
    tree_size: int
    checkpoint: str
    notes: list[str] = field(default_factory=list)


def export_kit(
    db: sqlite_utils.Database,
    out: Path,
    *,
    site_id: str,
    genesis: VerifyKey,
    since: str | None = None,
    until: str | None = None,
) -> KitSummary:
    """Write the kit for envelopes appended in ``[since, until)`` (stored timestamps;
    None: open) to ``out``, with proofs against the newest signed checkpoint."""
    checkpoints_stored = stored_checkpoints(db)
    if not checkpoints_stored:
        raise NothingToExport("the log has no signed checkpoint yet: run a scan first")
    newest = checkpoints_stored[-1]
    notes = []
    newer = tree_size(db) - newest.size
    if newer > 0:
        notes.append(
            f"{newer} leaves are newer than the newest signed checkpoint ({newest.size}"
            " leaves) and are not in this kit; the next run's checkpoint covers them"
            " (or `osiris checkpoint export`)"
        )
    files: dict[str, bytes] = {}
    envelopes, artifacts = _envelopes(db, newest.size, since, until, files)
    checkpoints = [
        c
        for c in checkpoints_stored
        if c.size <= newest.size and _within(c.created_at, since, until)
    ]
    if newest.id not in {c.id for c in checkpoints}:
        checkpoints.append(newest)
    timestamps = _checkpoints(db, checkpoints, newest, files)
    rotations = _keys(db, genesis, newest.size, files)
    name = _note_name(newest)
    start, end = since or "the beginning", until or "now"
    manifest = {
        "format": "osiris.evidence-kit/v1",
        "site_id": site_id,
        "origin": log_origin(site_id),
        "since": start,
        "until": end,
        "envelopes": envelopes,
        "artifacts": artifacts,
        "tree_size": newest.size,
        "checkpoint": name,
        "genesis_keyid": keyid(genesis),
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2) + "\n").encode()
    files["README.md"] = render_readme(
        site_id=site_id,
        since=start,
        until=end,
        envelopes=envelopes,
        checkpoint=f"checkpoints/{name}",
    ).encode()
    files["verify.py"] = VERIFIER.read_bytes()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as kit:
        for path in sorted(files):
            kit.writestr(path, files[path])
    return KitSummary(
        envelopes, artifacts, len(checkpoints), timestamps, rotations, newest.size, name, notes
    )


def _within(stamp: str, since: str | None, until: str | None) -> bool:
    return (since is None or stamp >= since) and (until is None or stamp < until)


def _note_name(checkpoint: StoredCheckpoint) -> str:
    return f"{checkpoint.id:08d}.note"


def _envelopes(
    db: sqlite_utils.Database,
    size: int,
    since: str | None,
    until: str | None,
    files: dict[str, bytes],
) -> tuple[int, int]:
    """envelopes.jsonl, proofs.jsonl and artifacts/; returns how many of each."""
    lines, proofs, digests = [], [], set()
    for env_id, run_id, host, kind, action_id, created, text, index in db.execute(
        "SELECT e.id, e.run_id, e.host, e.kind, e.action_id, e.created_at, e.envelope, l.idx"
        " FROM envelopes e JOIN log_leaves l ON l.envelope_id = e.id"
        " WHERE (:since IS NULL OR e.created_at >= :since)"
        " AND (:until IS NULL OR e.created_at < :until) AND l.idx < :size ORDER BY e.id",
        {"since": since, "until": until, "size": size},
    ):
        meta = json.dumps(
            {
                "id": env_id,
                "run": run_id,
                "host": host,
                "kind": kind,
                **({"action": action_id} if kind == "heal" else {}),
                "created_at": created,
                "leaf_index": index,
            },
        )
        lines.append(f'{meta[:-1]}, "envelope": {text}}}')  # the envelope verbatim
        payload = base64.b64decode(json.loads(text)["payload"])
        leaf = db.execute("SELECT leaf_hash FROM log_leaves WHERE idx = ?", [index]).fetchone()[0]
        path = [h.hex() for h in prove_inclusion(db, index, size)]
        proofs.append(
            {
                "envelope": env_id,
                "leaf_index": index,
                "tree_size": size,
                "leaf_hash": bytes(leaf).hex(),
                "path": path,
            }
        )
        digests.update(_subject_digests(payload))
    for digest in sorted(digests):
        row = db.execute("SELECT content FROM artifacts WHERE sha256 = ?", [digest]).fetchone()
        if row is not None:
            files[f"artifacts/{digest}"] = bytes(row[0])
    files["envelopes.jsonl"] = "".join(line + "\n" for line in lines).encode()
    files["proofs.jsonl"] = _jsonl(proofs)
    return len(lines), len(digests)


def _subject_digests(payload: bytes) -> list[str]:
    try:
        subjects = json.loads(payload)["subject"]
        return [str(s["digest"]["sha256"]) for s in subjects]
    except (ValueError, KeyError, TypeError):
        return []


def _checkpoints(
    db: sqlite_utils.Database,
    checkpoints: list[StoredCheckpoint],
    newest: StoredCheckpoint,
    files: dict[str, bytes],
) -> int:
    """checkpoints/: notes, consistency proofs to the newest, .ots proofs."""
    proofs = []
    for checkpoint in checkpoints:
        files[f"checkpoints/{_note_name(checkpoint)}"] = checkpoint.note.encode()
        if checkpoint.id != newest.id:
            path = prove_consistency(db, checkpoint.size, newest.size)
            proofs.append({"from": _note_name(checkpoint), "path": [h.hex() for h in path]})
    files["checkpoints/consistency.jsonl"] = _jsonl(proofs)
    wanted = {c.id: c for c in checkpoints}
    anchors = [a for a in stored_anchors(db, latest_only=True) if a.checkpoint_id in wanted]
    for anchor in anchors:
        files[f"checkpoints/{_note_name(wanted[anchor.checkpoint_id])}.ots"] = anchor.proof
    return len(anchors)


def _keys(db: sqlite_utils.Database, genesis: VerifyKey, size: int, files: dict[str, bytes]) -> int:
    """keys/: the genesis key, every rotated-in key, the rotation records."""
    keys = [genesis]
    lines = []
    for row in stored_rotations(db):
        key = VerifyKey(bytes.fromhex(row.public_key))
        keys.append(key)
        item: dict[str, Any] = {"seq": row.seq, "tree_size": size}
        if row.log_size <= size:
            item["consistency"] = [h.hex() for h in prove_consistency(db, row.log_size, size)]
        meta = json.dumps(item)
        lines.append(f'{meta[:-1]}, "envelope": {row.envelope}}}')
    files["keys/genesis.pub"] = (bytes(genesis).hex() + "\n").encode()
    for key in keys:
        files[f"keys/{keyid(key)}.pub"] = (bytes(key).hex() + "\n").encode()
        files[f"keys/{keyid(key)}.pem"] = public_key_pem(key).encode()
    files["keys/rotations.jsonl"] = "".join(line + "\n" for line in lines).encode()
    return len(lines)


def _jsonl(items: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(item) + "\n" for item in items).encode()
