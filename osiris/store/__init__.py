"""The site's SQLite database: runs, hosts and results (sqlite-utils, WAL, one writer)."""

from osiris.store.db import open_database

__all__ = ["open_database"]
