"""The durable half of the hub: SQLite through sqlite-utils.

`Store` is the write side (one transaction per Change) and the hub's own reads; `History` is the
read side that reports use. Nothing outside this package writes SQL.
"""

from sqlite3 import Error as DatabaseError  # what a read of a disk that fails raises (the app answers 503)

from .history import History
from .store import StorageUnavailable, Store, StoreLocked, storage_message

__all__ = ["DatabaseError", "History", "StorageUnavailable", "Store", "StoreLocked", "storage_message"]
