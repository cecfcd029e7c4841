"""What `osiris verify` found: each property checked, by name, with its failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

VERIFY_SCHEMA = "osiris.verify/v1"
MAX_LISTED = 100  # failures kept per property; the rest are counted


class Property(StrEnum):
    """The properties a whole evidence log has; each is checked by one function."""

    DATABASE = "database"  # the site has its database, holding the log's tables
    STORED_VALUES = "stored_values"  # every value read has its column's type and size
    ENVELOPE_SIGNATURE = "envelope_signature"  # every envelope signed by a site key
    KEY_VALIDITY = "key_validity"  # ... by the key valid at its log position (rotations)
    PAYLOAD_DIGEST = "payload_digest"  # payload digest and leaf hash match the payload
    STATEMENT = "statement"  # an in-toto statement for the row's site, run, host
    RESULTS_MATCH = "results_match"  # result rows say what the signed statement says
    ACTIONS_MATCH = "actions_match"  # heal action rows say what their signed statements say
    ARTIFACTS = "artifacts"  # stored raw artifacts hash to their digests
    LOG_ORDER = "log_order"  # leaves 0..n-1, one per envelope, in the order appended
    TREE_NODES = "tree_nodes"  # the cached interior nodes match the leaves
    CHECKPOINT_SIGNATURE = "checkpoint_signature"  # stored checkpoints signed by the site
    CHECKPOINT_ROOT = "checkpoint_root"  # the log still has every checkpointed root
    EXTERNAL_CHECKPOINT = "external_checkpoint"  # consistent with a checkpoint kept elsewhere
    ROTATION_CHAIN = "rotation_chain"  # each key certified by its predecessor, from genesis
    TIMESTAMPS = "timestamps"  # OpenTimestamps proofs lead to their checkpoints (and blocks)
    COMPLETENESS = "completeness"  # every host of every run, every action has its bundle

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Property.DATABASE: "the site's database exists and holds the evidence log's tables",
    Property.STORED_VALUES: "every stored value the checks read has its column's type and size",
    Property.ENVELOPE_SIGNATURE: "every envelope is signed by this site's key",
    Property.KEY_VALIDITY: "every envelope and checkpoint is signed by the key valid at its"
    " log position (no retired key signs after its rotation, no new key before it)",
    Property.PAYLOAD_DIGEST: "every payload hashes to its recorded digest and leaf",
    Property.STATEMENT: "every payload is an in-toto statement for its site, run and host"
    " (and heal action)",
    Property.RESULTS_MATCH: "stored results and host outcomes match the signed statements",
    Property.ACTIONS_MATCH: "stored heal actions match their signed statements",
    Property.ARTIFACTS: "stored raw artifacts hash to their digests",
    Property.LOG_ORDER: "leaves are contiguous, one per envelope, in append order",
    Property.TREE_NODES: "the stored interior nodes match the leaves",
    Property.CHECKPOINT_SIGNATURE: "every stored checkpoint is signed by this site's key",
    Property.CHECKPOINT_ROOT: "the log reproduces the root of every stored checkpoint",
    Property.EXTERNAL_CHECKPOINT: "the log is consistent with the checkpoint kept elsewhere",
    Property.ROTATION_CHAIN: "every key rotation is signed by the key it retires and by the"
    " new key, in sequence from the genesis key, at a position the log still has",
    Property.TIMESTAMPS: "every OpenTimestamps proof leads from its checkpoint's digest to a"
    " pending calendar or to the merkle root of a supplied Bitcoin block header",
    Property.COMPLETENESS: "every host of every run and every finished heal action has a"
    " bundle, and every bundle a leaf",
}


@dataclass(frozen=True)
class Failure:
    """One thing that does not hold: which property, about what, and why."""

    property: Property
    subject: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"property": self.property.value, "subject": self.subject, "detail": self.detail}


@dataclass
class PropertyResult:
    name: Property
    checked: int = 0
    failures: list[Failure] = field(default_factory=list)  # the first MAX_LISTED
    failure_count: int = 0
    skipped: str | None = None  # why the property was not checked (e.g. no --checkpoint)

    @property
    def ok(self) -> bool:
        return self.failure_count == 0

    def fail(self, subject: str, detail: str) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_LISTED:
            self.failures.append(Failure(self.name, subject, detail))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name.value,
            "description": self.name.description,
            "ok": self.ok,
            "checked": self.checked,
            "skipped": self.skipped,
            "failure_count": self.failure_count,
            "failures": [f.as_dict() for f in self.failures],
        }


@dataclass
class VerifyReport:
    site_id: str
    origin: str
    keyids: list[str]
    log_size: int = 0
    root: bytes = b""
    checkpoint_size: int | None = None
    since: str | None = None
    properties: dict[Property, PropertyResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False  # stopped by SIGINT or SIGTERM: what was checked so far

    def __post_init__(self) -> None:
        for prop in Property:
            self.properties.setdefault(prop, PropertyResult(prop))

    def __getitem__(self, prop: Property) -> PropertyResult:
        return self.properties[prop]

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(p.ok for p in self.properties.values())

    def skip_all_but(self, *checked: Property, why: str) -> None:
        """Mark every property but ``checked`` as not checked, for ``why``."""
        for prop, result in self.properties.items():
            if prop not in checked:
                result.skipped = why

    @property
    def failures(self) -> list[Failure]:
        return [f for p in self.properties.values() for f in p.failures]

    @property
    def failed(self) -> list[Property]:
        """The names of the properties that do not hold."""
        return [p.name for p in self.properties.values() if not p.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": VERIFY_SCHEMA,
            "status": "interrupted" if self.interrupted else "complete",
            "ok": self.ok,
            "site_id": self.site_id,
            "origin": self.origin,
            "keyids": self.keyids,
            "since": self.since,
            "log": {"size": self.log_size, "root": self.root.hex()},
            "checkpoint_size": self.checkpoint_size,
            "failed": [p.value for p in self.failed],
            "properties": [p.as_dict() for p in self.properties.values()],
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }
