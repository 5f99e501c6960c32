"""`jiaohao backup --db FILE --to DIR [--keep N]`: a consistent copy of the hub's database while it runs.

Copying the file is not a backup: the hub's database is in WAL mode, and the newest tickets may still be
in the -wal file, or half written to it. SQLite's online backup API copies pages under SQLite's own
locking, so the copy is one consistent moment of the database, and the hub keeps issuing meanwhile (the
hub's lock file is not taken, and readers never block its writers in WAL mode).

The copy is written under a temporary name and renamed once it is complete and passes `quick_check`,
so a backup dir never holds a half copy under a real name. Restore: stop the hub, copy a backup over
the database (and remove its -wal and -shm files), start the hub (firmware_config/README.md).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from pathlib import Path

from ..wire.errors import FixableError

NAME = re.compile(r"^jiaohao-\d{8}-\d{6}(-\d+)?\.db$")


class BackupError(FixableError):
    """Why there is no backup, in one line."""


def backup(db: str | Path, to: str | Path, keep: int | None = None, now: datetime | None = None) -> Path:
    """Copies `db` into `to` as jiaohao-YYYYMMDD-HHMMSS.db; with `keep`, removes all but the newest `keep`."""
    db, to = Path(db), Path(to)
    if keep is not None and keep < 1:
        raise BackupError("--keep N must be 1 or more")
    if not db.is_file():
        raise BackupError(f"{db}: no such database")
    try:
        to.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BackupError(f"cannot make {to}: {e.strerror}") from None
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    target = to / f"jiaohao-{stamp}.db"
    n = 1
    while target.exists():  # two backups in one second keep both
        target, n = to / f"jiaohao-{stamp}-{n}.db", n + 1
    partial = to / f".{target.name}.partial"
    try:
        # mode=rw: never create an empty database where the hub's should be.
        src = sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)
                ok = dst.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                dst.close()
        finally:
            src.close()
        if ok != "ok":
            raise BackupError(f"the copy of {db} failed its check: {ok}")
        partial.rename(target)
    except sqlite3.Error as e:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot back up {db} to {to}: {e}") from None
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot write {target}: {e.strerror}") from None
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    if keep is not None:
        prune(to, keep)
    return target


def backups(to: str | Path) -> list[Path]:
    """The backups in a directory, oldest first (the names sort by date and time)."""
    return sorted((p for p in Path(to).iterdir() if NAME.match(p.name)), key=_order)


def _order(p: Path) -> tuple[str, str, int]:
    day, time, *n = p.name.removeprefix("jiaohao-").removesuffix(".db").split("-")
    return day, time, int(n[0]) if n else 0


def prune(to: str | Path, keep: int) -> list[Path]:
    """Removes all but the newest `keep` backups; returns what it removed."""
    old = backups(to)[:-keep]
    for p in old:
        p.unlink(missing_ok=True)
    return old
