"""The durable half of the hub: SQLite through sqlite-utils.

`Store` is the write side (one transaction per Change) and the hub's own reads; `History` is the
read side that reports use. Nothing outside this package writes SQL.
"""

import sqlite3
from sqlite3 import Error as DatabaseError  # what a read of a disk that fails raises (the app answers 503)

from .history import History
from .store import StorageUnavailable, Store, StoreLocked, storage_message


def is_disk_error(e: BaseException) -> bool:
    """SQLite's errors of the disk or the file (I/O, full, read-only, locked, damaged), not of a program's bug."""
    return isinstance(e, sqlite3.OperationalError) or type(e) is sqlite3.DatabaseError


__all__ = ["DatabaseError", "History", "StorageUnavailable", "Store", "StoreLocked", "is_disk_error", "storage_message"]
