"""Every stored value the verifier reads has its column's type and size.

SQLite keeps any value in any column: a leaf hash can be stored as text, a run id as a
string, a checkpoint's root as a 31-byte blob. Reading such a value stopped the verifier
with a traceback ("Could not decode to UTF-8") or worse, compared it as something it is
not. :func:`check_stored_values` runs one query per table over the columns the other
checks read (only rows with a wrong value are read in full) and names each wrong value
by table, row and column. A log with any is not whole, and the checks that would read
those values are not run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlite_utils

from osiris.evidence.report import PropertyResult


class Kind(Enum):
    """What a column must hold."""

    INTEGER = "integer"
    TEXT = "text"
    HEX64 = "hex64"
    BLOB = "blob"
    BLOB32 = "blob32"

    @property
    def sql_type(self) -> str:
        return _KINDS[self][0]

    @property
    def described(self) -> str:
        return _KINDS[self][1]

    def test(self, column: str) -> str:
        """An SQL expression true when ``column`` holds this kind (NULL when it is NULL)."""
        test = f"typeof({column}) = '{self.sql_type}'"
        extra = _KINDS[self][2]
        return f"({test} AND {extra.replace('{c}', column)})" if extra else test


# kind: (SQLite type, what a person reads, a further SQL test of the value `{c}`)
_KINDS: dict[Kind, tuple[str, str, str]] = {
    Kind.INTEGER: ("integer", "an integer", ""),
    Kind.TEXT: ("text", "text", ""),
    Kind.HEX64: ("text", "a 64-character hex digest", "length({c}) = 64"),
    Kind.BLOB: ("blob", "a blob", ""),
    Kind.BLOB32: ("blob", "a 32-byte blob", "length({c}) = 32"),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    nullable: bool = False

    def ok(self) -> str:
        """An SQL expression true when the column's value is right."""
        test = self.kind.test(self.name)
        return f"({self.name} IS NULL OR {test})" if self.nullable else f"coalesce({test}, 0)"

    @property
    def expected(self) -> str:
        return self.kind.described + (" or NULL" if self.nullable else "")


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[tuple[str, str], ...]  # (column, the word that names it) of the row's key
    columns: tuple[Column, ...]


# table: (its key: the columns naming a row, each as `column:word`; the columns the
# verifier reads, each as `name kind`, `?` when it may be NULL)
_SPEC = {
    "runs": ("id:id", "started_at text"),
    "host_runs": (
        "run_id:run host:host",
        "run_id integer, host text, reached integer, error text?, output_digest hex64?",
    ),
    "results": (
        "id:id",
        "run_id integer, host text, check_id text, status text, reason text,"
        " probe_digest hex64?, facts text?",
    ),
    "heal_actions": (
        "id:id",
        "incident_id integer, host text, check_id text, runbook_id text, rule_id text?,"
        " tier text, state text, pre_status text, post_status text?, detail text?,"
        " started_at text, finished_at text?",
    ),
    "pattern_outcomes": ("action_id:action", "signature text"),
    "envelopes": (
        "id:id",
        "run_id integer, host text, kind text, envelope text, payload_sha256 hex64,"
        " keyid hex64, created_at text, action_id integer?",
    ),
    "log_leaves": ("idx:idx", "leaf_hash blob32, envelope_id integer"),
    "log_nodes": ("level:level idx:idx", "level integer, idx integer, hash blob32"),
    "artifacts": ("sha256:sha256", "sha256 hex64, content blob"),
    "checkpoints": (
        "id:id",
        "tree_size integer, root_hash blob32, note text, run_id integer?, created_at text",
    ),
    "key_rotations": (
        "seq:seq",
        "previous_keyid hex64, keyid hex64, public_key hex64, log_size integer, reason text,"
        " rotated_at text, envelope text",
    ),
    "anchors": (
        "id:id",
        "checkpoint_id integer, digest hex64, proof blob, complete integer, created_at text",
    ),
}


def _table(name: str, key: str, columns: str) -> Table:
    def column(item: str) -> Column:
        column_name, kind = item.split()
        return Column(column_name, Kind[kind.rstrip("?").upper()], kind.endswith("?"))

    return Table(
        name,
        tuple((part.split(":")[0], part.split(":")[1]) for part in key.split()),
        tuple(column(item) for item in columns.split(",")),
    )


TABLES: tuple[Table, ...] = tuple(_table(name, *spec) for name, spec in _SPEC.items())


def check_stored_values(result: PropertyResult, db: sqlite_utils.Database) -> None:
    """Name every value of :data:`TABLES` that has the wrong type or size."""
    for table in TABLES:
        all_ok = " AND ".join(c.ok() for c in table.columns)
        query = f"SELECT count(*), total(NOT ({all_ok})) FROM {table.name}"
        rows, bad = db.execute(query).fetchone()
        result.checked += rows * len(table.columns)
        if bad:
            _name_bad_rows(result, db, table, all_ok)


def _name_bad_rows(
    result: PropertyResult, db: sqlite_utils.Database, table: Table, all_ok: str
) -> None:
    keys = ", ".join(column for column, _ in table.key)
    tests = ", ".join(c.ok() for c in table.columns)
    shapes = ", ".join(f"typeof({c.name}), length(CAST({c.name} AS BLOB))" for c in table.columns)
    width = len(table.key)
    for row in db.execute(
        f"SELECT {keys}, {tests}, {shapes} FROM {table.name} WHERE NOT ({all_ok}) ORDER BY {keys}"
    ):
        named = zip(table.key, row[:width], strict=True)
        subject = " ".join([table.name, *(f"{word} {_show(value)}" for (_, word), value in named)])
        oks = row[width : width + len(table.columns)]
        shape = row[width + len(table.columns) :]
        for i, column in enumerate(table.columns):
            if not oks[i]:
                result.fail(
                    f"{subject}: {column.name}",
                    f"is {_found(shape[2 * i], shape[2 * i + 1])}, not {column.expected}",
                )


def _found(sql_type: str, size: int | None) -> str:
    if sql_type == "null":
        return "NULL"
    if sql_type in ("integer", "real"):
        return "a number" if sql_type == "integer" else "a real number"
    return f"{sql_type} of {size} byte{'' if size == 1 else 's'}"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return f"x'{value[:16].hex()}'"
    return str(value)
