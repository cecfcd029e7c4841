"""Checking a database file before SQLite opens it must not drop the locks of a
connection this process already has on it: closing any descriptor of a file releases
every POSIX lock the process holds there (SQLite's "how to corrupt" case 2.2)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from osiris.store.db import check_database_file

TRY_TO_WRITE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
try:
    conn.execute("BEGIN IMMEDIATE")
except sqlite3.OperationalError as exc:
    print(exc)
else:
    print("got the write lock")
"""


def test_a_held_lock_survives_the_check(tmp_path: Path) -> None:
    path = tmp_path / "site.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("INSERT INTO t VALUES (1)")
    for _ in range(3):  # the first check opens a descriptor, later ones re-use it
        check_database_file(path)
    other = subprocess.run(
        [sys.executable, "-c", TRY_TO_WRITE, str(path)], capture_output=True, text=True
    )
    assert other.stdout.strip() == "database is locked", other.stdout + other.stderr
    conn.execute("COMMIT")
