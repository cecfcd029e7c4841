"""Opening the database and bringing its schema up to date.

Commands that only read open it with :mod:`osiris.store.readonly` instead.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import struct
from pathlib import Path

import sqlite_utils

from osiris.errors import DatabaseError, DatabaseMissing, OsirisError
from osiris.store.migrations import MIGRATIONS, SCHEMA_VERSION

SQLITE_MAGIC = b"SQLite format 3\x00"
OPENED: list[Path] = []  # the databases this process opened, newest last (errors name them)


def open_database(path: Path, *, create: bool = False) -> sqlite_utils.Database:
    """Open (and migrate) the site database. WAL mode, foreign keys on.

    Several readers and one writer may use it at once; writers wait up to 30 s. Only
    ``create`` (a new site) may start a schema: an existing site's database that is
    missing, emptied or not SQLite is refused, never filled with a fresh, empty log.
    """
    if not create:
        check_database_file(path)
    OPENED.append(path)
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA foreign_keys = ON")
    db.enable_wal()
    db.execute("PRAGMA synchronous = NORMAL")
    # checkpoint the WAL every ~40 MB rather than every 4 MB: each scan commits once per
    # host, and fewer checkpoints write each hot index page once instead of many times
    db.execute("PRAGMA wal_autocheckpoint = 10000")
    db.execute("PRAGMA journal_size_limit = 67108864")
    migrate(db)
    return db


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> int:
    """Apply pending migrations, each in its own transaction. Returns the new version."""
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise OsirisError(
            f"database schema {current} is newer than this osiris ({SCHEMA_VERSION});"
            " upgrade osiris"
        )
    if current == SCHEMA_VERSION:
        return current
    # foreign keys off while migrating (SQLite's way to rebuild a table others reference;
    # the pragma is a no-op inside a transaction), checked before each migration commits
    foreign_keys = db.execute("PRAGMA foreign_keys").fetchone()[0]
    db.execute("PRAGMA foreign_keys = OFF")
    try:
        for version in range(current + 1, SCHEMA_VERSION + 1):
            _apply(db, version)
    finally:
        db.execute(f"PRAGMA foreign_keys = {int(foreign_keys)}")
    return SCHEMA_VERSION


def _apply(db: sqlite_utils.Database, version: int) -> None:
    """One migration in one transaction: all of it, or (on any error) none of it."""
    # executescript commits implicitly; wrap so a failed migration leaves nothing
    try:
        db.conn.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[version - 1]}")
        broken = db.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise OsirisError(f"migration {version} would break foreign keys: {broken[:3]}")
        db.conn.execute(f"PRAGMA user_version = {version}")
        db.conn.execute("COMMIT")
    except (sqlite3.Error, OsirisError):
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise


def database_path(db: sqlite_utils.Database) -> Path | None:
    """The file behind an open database (None for an in-memory one)."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


# Descriptors database headers are read through, one per file, never closed: closing
# any descriptor of a file drops every POSIX lock this process holds on it, those of an
# SQLite connection already open on it included (SQLite's "how to corrupt" case 2.2).
_HEADER_FDS: dict[tuple[int, int], int] = {}


def _header(path: Path) -> tuple[int, bytes]:
    """The file's size and its first 100 bytes, read without closing a descriptor."""
    status = os.stat(path)
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(path)
    key = (status.st_dev, status.st_ino)
    if key not in _HEADER_FDS:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        # replaced between stat and open: key the descriptor by what it opened (if that
        # file has one already, this one stays open too, unused: never closed)
        opened = os.fstat(fd)
        key = (opened.st_dev, opened.st_ino)
        _HEADER_FDS.setdefault(key, fd)
    fd = _HEADER_FDS[key]
    return os.fstat(fd).st_size, os.pread(fd, 100, 0)


def check_database_file(path: Path) -> None:
    """Refuse, before SQLite opens it, a database that is missing, empty (zero bytes),
    not SQLite, or shorter than its header says (truncated); each names the file."""
    try:
        size, header = _header(path)
    except FileNotFoundError:
        raise DatabaseMissing(path, "no database here (run `osiris init`)") from None
    except IsADirectoryError:
        raise DatabaseError(path, "is a directory, not a database") from None
    if size == 0:
        raise DatabaseMissing(path, "is empty (0 bytes): it holds no records and no evidence")
    if not header.startswith(SQLITE_MAGIC) or len(header) < 100:
        raise DatabaseError(path, "is not an SQLite database")
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    changes, pages = struct.unpack(">II", header[24:32])
    (valid_for,) = struct.unpack(">I", header[92:96])
    # the header's page count holds when written by the same change as the header
    if changes == valid_for and pages * page_size > size:
        raise DatabaseError(
            path, f"is truncated: {size} bytes where its header says {pages * page_size}"
        )
