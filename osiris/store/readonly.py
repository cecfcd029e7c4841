"""Opening a site database for reading only: `osiris verify` and every command that
only reads (runs, results, incidents, escalations, l2 log, evidence export).

Nothing is written to the site, and an auditor's copy on a read-only medium works:

- the file is checked first: missing, empty (zero bytes), not SQLite, or shorter than its
  header says is a :class:`~osiris.errors.DatabaseError` naming it, never a fresh schema;
- a live site is opened ``mode=ro``: SQLite's usual shared locks, so a scan writing at the
  same time is seen consistently (SQLite may create the empty ``-wal``/``-shm`` any reader
  of a WAL database does, beside a database that is writable anyway);
- a read-only site (a read-only file system, a directory or database without write
  permission, even for root) is opened ``immutable=1``, which reads the file alone and
  writes nothing; when it holds a write-ahead log that was never checkpointed (which
  ``immutable`` would not read), the database and its log are copied to a private
  temporary directory and read there;
- an older schema is upgraded in a copy held in memory, never in place;
- text that is not valid UTF-8 reads with U+FFFD in place of the bad bytes, so a damaged
  value no longer matches what was signed and is named, instead of stopping the read.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlite_utils

from osiris import interrupts
from osiris.errors import DatabaseError, DatabaseMissing
from osiris.store.db import OPENED, check_database_file, migrate
from osiris.store.migrations import MIGRATIONS, SCHEMA_VERSION

_URIS: dict[Path, str] = {}  # databases opened read-only here → the URI each was read by


def open_read_only(path: Path) -> sqlite_utils.Database:
    """The site database at ``path``, for reading; see the module docstring."""
    check_database_file(path)
    uri = _uri(path)
    OPENED.append(path)
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
        conn.text_factory = text_from_bytes
        conn.execute("PRAGMA query_only = ON")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as exc:
        problem = database_problem(exc, path)
        raise DatabaseError(path, problem.message if problem else str(exc)) from None
    _URIS[path] = uri
    if version == 0 and not tables:
        conn.close()
        raise DatabaseMissing(path, "holds no tables: nothing was ever recorded in it")
    if version > SCHEMA_VERSION:
        conn.close()
        raise DatabaseError(
            path,
            f"database schema {version} is newer than this osiris ({SCHEMA_VERSION});"
            " upgrade osiris",
        )
    if version < SCHEMA_VERSION:
        return _migrated_copy(conn, path)
    missing = sorted(expected_tables() - tables)
    if missing:
        conn.close()
        raise DatabaseError(
            path, f"schema {version} but no {', '.join(missing)} table: the file was altered"
        )
    return sqlite_utils.Database(conn)


def reader_uri(path: Path) -> str:
    """The URI that opened ``path`` in this process (for worker processes to open it the
    same way), or a plain read-only one."""
    return _URIS.get(path) or _URIS.get(path.resolve()) or f"{path.as_uri()}?mode=ro"


def text_from_bytes(value: bytes) -> str:
    """SQLite text as a str, bad UTF-8 replaced (the ``text_factory`` of readers)."""
    return value.decode("utf-8", "replace")


def read_only_medium(path: Path) -> bool:
    """Whether the site at ``path`` must not be written: its file system is mounted
    read-only, this user may not write it, or its owner made it read-only (no write
    permission bit on the database or its directory: an auditor's copy, even for root)."""
    directory = path.parent
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        pass
    if not os.access(directory, os.W_OK) or not os.access(path, os.W_OK):
        return True
    return not (path.stat().st_mode & 0o222 and directory.stat().st_mode & 0o222)


def _uri(path: Path) -> str:
    base = path.absolute().as_uri()
    if not read_only_medium(path):
        return f"{base}?mode=ro"
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return f"{_private_copy(path, wal).as_uri()}?mode=ro"
    return f"{base}?mode=ro&immutable=1"


def _private_copy(path: Path, wal: Path) -> Path:
    """The database and its write-ahead log copied to a temporary directory, removed when
    the process ends: the log's transactions are read there, never recovered in place."""
    with interrupts.deferred():  # registered for removal before anything can leave it
        directory = Path(tempfile.mkdtemp(prefix="osiris-read-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    copy = directory / path.name
    shutil.copyfile(path, copy)
    shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
    return copy


def _migrated_copy(conn: sqlite3.Connection, path: Path) -> sqlite_utils.Database:
    """An older schema brought up to date in memory: the file stays as it is."""
    memory = sqlite3.connect(":memory:", isolation_level=None)
    memory.text_factory = text_from_bytes
    try:
        conn.backup(memory)
        db = sqlite_utils.Database(memory)
        migrate(db)
    except sqlite3.Error as exc:
        problem = database_problem(exc, path)
        raise DatabaseError(path, problem.message if problem else str(exc)) from None
    finally:
        conn.close()
    db.execute("PRAGMA query_only = ON")
    return db


@cache
def expected_tables() -> frozenset[str]:
    """The tables the current schema has (the migrations, run on an empty database)."""
    memory = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for script in MIGRATIONS:
            memory.executescript(script)
        rows = memory.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return frozenset(name for (name,) in rows)
    finally:
        memory.close()


@dataclass(frozen=True)
class Problem:
    """What an SQLite error says about the database file, for one line on stderr."""

    message: str
    interrupted: bool = False


# primary SQLite result codes that are about the file or the machine, not the code
_FILE_PROBLEMS = {
    sqlite3.SQLITE_CORRUPT: "is damaged ({error}); restore it from a copy",
    sqlite3.SQLITE_NOTADB: "is not an SQLite database ({error})",
    sqlite3.SQLITE_IOERR: "could not be read or written ({error})",
    sqlite3.SQLITE_CANTOPEN: "cannot be opened ({error})",
    sqlite3.SQLITE_FULL: "cannot grow: the disk is full ({error})",
    sqlite3.SQLITE_BUSY: "is locked by another osiris that is writing; try again ({error})",
    sqlite3.SQLITE_LOCKED: "is locked ({error}); try again",
    sqlite3.SQLITE_PERM: "may not be accessed ({error})",
    sqlite3.SQLITE_READONLY: "is read-only ({error}): this command writes; use a writable copy",
}


def database_problem(exc: BaseException, path: Path | None = None) -> Problem | None:
    """What ``exc`` says about a database file (None: it is not about one). ``path``:
    the file; default the last database this process opened read-only."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary == sqlite3.SQLITE_INTERRUPT and interrupts.received() is not None:
        return Problem("interrupted", interrupted=True)
    template = _FILE_PROBLEMS.get(primary) if primary is not None else None
    if template is None:
        return None
    where = path or (OPENED[-1] if OPENED else "the site database")
    return Problem(f"{where}: " + template.format(error=exc))
