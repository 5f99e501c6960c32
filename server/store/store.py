"""SQLite through sqlite-utils: the durable half of the hub.

One Change is one transaction. The connection runs in WAL mode with synchronous=FULL, so a change
the API has answered for survives SIGKILL and power loss. Only the hub process writes (a lock file
refuses a second hub on the same database), and every write happens under the hub's lock, so the
claim of a ticket can never be handed out twice; the UPDATE is also guarded by `status = 'waiting'`
and a missing row aborts the whole change.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from ..engine.errors import JiaohaoError
from ..engine.model import Appointment, Change, CounterState, Event, ServiceStat, Ticket
from ..engine.queue import QueueState
from ..wire.errors import FixableError
from .history import History
from .rows import appointment_from_row, appointment_row, insert_sql, ticket_from_row, ticket_row, ts
from .schema import migrations


class StoreLocked(FixableError, RuntimeError):
    pass


class StorageUnavailable(JiaohaoError):
    """The database cannot be written now: the change is refused, nothing of it is kept or announced."""

    status = 503
    code = "storage_unavailable"


def storage_message(e: BaseException) -> str:
    """What went wrong with the disk, in words a person at the office can act on (zh-TW and English)."""
    text = str(e).lower()
    if "full" in text or getattr(e, "sqlite_errorname", "") == "SQLITE_FULL":
        what = "儲存空間已滿 The hub's disk is full"
    elif "readonly" in text or "read-only" in text:
        what = "資料庫唯讀 The hub's database file is read-only"
    elif "malformed" in text or "not a database" in text:
        what = "資料庫損毀 The hub's database file is damaged"
    elif "i/o" in text or "disk" in text:
        what = "磁碟讀寫錯誤 The hub's disk has an I/O error"
    elif "locked" in text or "busy" in text:
        what = "資料庫忙碌 The hub's database is locked by another program"
    else:
        what = "無法寫入資料庫 The hub cannot write its database"
    return f"{what} ({e}); nothing was changed, try again once it is fixed. 未做任何變更。"


@contextmanager
def writing() -> Iterator[None]:
    """SQLite's errors on a write, as the one error every change answers with then (503)."""
    try:
        yield
    except sqlite3.Error as e:
        raise StorageUnavailable(storage_message(e)) from e


class Store:
    def __init__(self, path: str | Path, *, exclusive: bool = True) -> None:
        """`exclusive=False` is for the small tools (`jiaohao user`) that write beside a running hub."""
        self.path = str(path)
        self._lockfile: int | None = None
        if self.path != ":memory:" and exclusive:
            self._lock_exclusively()
        # Two connections. `db` serves reads and the small writes (ratings, device reports, accounts)
        # under the hub's lock; `writer` only stores Changes, which the group commit does in a worker
        # thread while `db` goes on serving. One connection shared by both would let one thread's
        # COMMIT end the other's savepoint. WAL lets them read and write side by side.
        self.db = self._connect()
        migrations.apply(self.db)
        self.writer = self.db if self.path == ":memory:" else self._connect()
        self.history = History(self.path, shared=self.db if self.path == ":memory:" else None)

    @staticmethod
    @contextmanager
    def immediate(db: Database) -> Iterator[Database]:
        """A write transaction that takes the write lock at BEGIN.

        Two connections write here (see __init__). A deferred transaction that has read before it
        writes fails at once with "database is locked" when the other connection committed
        meanwhile, and busy_timeout does not help; BEGIN IMMEDIATE waits its turn instead.
        """
        with writing():
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.conn.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (a full disk does): the first error is the one to tell.
                if db.conn.in_transaction:
                    try:
                        db.conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                raise

    def _connect(self) -> Database:
        db = Database(sqlite3.connect(self.path, timeout=10, check_same_thread=False))
        db.execute("PRAGMA busy_timeout = 10000")
        # FULL: the WAL is synced on every commit, so an acknowledged change survives power loss.
        db.execute("PRAGMA synchronous = FULL")
        return db

    def _lock_exclusively(self) -> None:
        # The real path: a symlink or a second name for the same file must meet the same lock.
        lock_path = os.path.realpath(self.path) + ".lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise StoreLocked(f"cannot use {self.path}: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLocked(f"{self.path} is already in use by another jiaohao hub") from None
        self._lockfile = fd

    def close(self) -> None:
        self.history.close()
        if self.writer is not self.db:
            self.writer.close()
        self.db.close()
        if self._lockfile is not None:
            os.close(self._lockfile)
            self._lockfile = None

    # -- reading -------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """One real write, synced, at start: a read-only file or a full disk is found now, not at the first ticket."""
        with self.immediate(self.db):
            self._set_meta_on(self.db, "opened", "1")

    def newest_event_at(self) -> datetime | None:
        """When the last event was logged: the hub's clock must not start earlier (CONTRACT.md)."""
        rows = list(self.db.query("SELECT at FROM events ORDER BY id DESC LIMIT 1"))
        return datetime.fromisoformat(rows[0]["at"]) if rows else None

    def meta(self, key: str, default: str | None = None) -> str | None:
        rows = list(self.db.query("SELECT value FROM meta WHERE key = ?", [key]))
        return rows[0]["value"] if rows else default

    def load(self, today: str) -> QueueState:
        """Today's tickets and every ticket still open from an earlier day (roll_day closes those)."""
        day = self.meta("business_date") or today
        state = QueueState(business_date=day)
        for r in self.db.query(
            "SELECT * FROM tickets WHERE business_date = ? OR status IN ('waiting', 'called', 'serving')", [day]
        ):
            t = ticket_from_row(r)
            state.tickets[t.id] = t
        for r in self.db.query("SELECT * FROM counters"):
            state.counters[r["id"]] = CounterState(r["id"], bool(r["open"]), r["ticket"], r["streak"])
        for r in self.db.query("SELECT service, next_n FROM numbering WHERE business_date = ?", [day]):
            state.numbering[r["service"]] = r["next_n"]
        for r in self.db.query("SELECT * FROM service_stats"):
            state.stats[r["service"]] = ServiceStat(r["service"], r["mean_s"], r["visits"], r["var_s2"])
        rows = list(self.db.query("SELECT max(ord) AS m FROM tickets WHERE business_date = ?", [day]))
        state.next_order = (rows[0]["m"] or 0) + 1
        for r in self.db.query("SELECT * FROM appointments WHERE business_date >= ?", [day]):
            state.appointments[r["code"]] = appointment_from_row(r)
        return state

    def appointment(self, code: str) -> Appointment | None:
        rows = list(self.db.query("SELECT * FROM appointments WHERE code = ?", [code]))
        return appointment_from_row(rows[0]) if rows else None

    def appointment_codes(self, codes: Iterable[str]) -> frozenset[str]:
        """Which of these codes are booked already, on any day."""
        codes = list(codes)
        found: set[str] = set()
        for i in range(0, len(codes), 500):  # SQLite's limit on the number of parameters
            chunk = codes[i:i + 500]
            marks = ", ".join("?" * len(chunk))
            found |= {r["code"] for r in self.db.query(f"SELECT code FROM appointments WHERE code IN ({marks})", chunk)}
        return frozenset(found)

    def appointments(self, day: str) -> list[Appointment]:
        return [appointment_from_row(r) for r in self.db.query(
            "SELECT * FROM appointments WHERE business_date = ? ORDER BY slot, code", [day])]

    def set_meta(self, key: str, value: str) -> None:
        with self.immediate(self.db):
            self._set_meta_on(self.db, key, value)

    def ticket(self, tid: str) -> Ticket | None:
        rows = list(self.db.query("SELECT * FROM tickets WHERE id = ?", [tid]))
        return ticket_from_row(rows[0]) if rows else None

    def idempotent(self, device: str, key: str, day: str) -> tuple[str, str] | None:
        rows = list(self.db.query(
            "SELECT ticket, request FROM idempotency WHERE device = ? AND key = ? AND business_date = ?",
            [device, key, day]))
        return (rows[0]["ticket"], rows[0]["request"]) if rows else None

    def idempotency_keys(self, day: str) -> list[tuple[str, str, str, str]]:
        """(device, key, ticket, request) of every Idempotency-Key used on `day`."""
        return [(r["device"], r["key"], r["ticket"], r["request"])
                for r in self.db.query("SELECT * FROM idempotency WHERE business_date = ?", [day])]

    def counter_ids(self) -> set[str]:
        """The counters stored so far (the office file may have added some since)."""
        return {r["id"] for r in self.db.query("SELECT id FROM counters")}

    def recent_calls(self, limit: int) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT id, at, ticket, counter, kind, detail FROM events WHERE kind IN ('called', 'recalled') "
            "ORDER BY id DESC LIMIT ?", [limit]))

    def events(self, day: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM events", []
        if day:
            sql, args = sql + " WHERE business_date = ?", [day]
        return [dict(r, detail=json.loads(r["detail"])) for r in self.db.query(sql + " ORDER BY id", args)]

    def last_visit_at(self, counter: str, day: str) -> dict[str, Any] | None:
        """The latest finished visit at a counter today, with who was serving."""
        rows = list(self.db.query(
            "SELECT id, at, ticket, actor, service FROM events WHERE kind = 'finished' AND counter = ? "
            "AND business_date = ? ORDER BY id DESC LIMIT 1", [counter, day]))
        if not rows:
            return None
        visit = rows[0]
        if not (visit["actor"] or "").startswith("user:"):
            # Finished by the counter's own device (a keypad): the clerk is whoever logged in there.
            seen = list(self.db.query(
                "SELECT kind, actor FROM events WHERE kind IN ('login', 'logout') AND counter = ? AND id < ? "
                "ORDER BY id DESC LIMIT 1", [counter, visit["id"]]))
            visit["actor"] = seen[0]["actor"] if seen and seen[0]["kind"] == "login" else None
        visit["rated"] = bool(list(self.db.query("SELECT 1 FROM ratings WHERE ticket = ?", [visit["ticket"]])))
        return visit

    def add_rating(self, rating: dict[str, Any], event: Event) -> None:
        with self.immediate(self.db):
            self.db.execute(insert_sql("ratings", rating), rating)
            self._insert_events([event])

    def add_event(self, event: Event) -> None:
        with self.immediate(self.db):
            self._insert_events([event])

    # -- staff accounts ------------------------------------------------------------------------

    def user(self, name: str) -> dict[str, Any] | None:
        """An active account: name, role and password hash."""
        rows = list(self.db.query(
            "SELECT name, role, password_hash FROM users WHERE name = ? AND active = 1", [name]))
        return rows[0] if rows else None

    def add_user(self, name: str, role: str, password_hash: str, created_at: datetime,
                 event: Event | None = None) -> bool:
        """Add an account (with its log row); False (and nothing written) if the name is taken."""
        with self.immediate(self.db):
            if list(self.db.query("SELECT 1 FROM users WHERE name = ?", [name])):
                return False
            self.db.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                [name, role, password_hash, created_at.isoformat()],
            )
            if event is not None:
                self._insert_events([event])
        return True

    def set_user(self, name: str, event: Event, *, active: bool | None = None,
                 password_hash: str | None = None) -> bool:
        """Disable, enable or reset the password of an account, with its log row; False if unknown."""
        with self.immediate(self.db):
            if not list(self.db.query("SELECT 1 FROM users WHERE name = ?", [name])):
                return False
            if active is not None:
                self.db.execute("UPDATE users SET active = ? WHERE name = ?", [int(active), name])
            if active is False or password_hash is not None:
                # Disabled, or a new password: every session of the account ends now (issue #14).
                self.db.execute("DELETE FROM sessions WHERE user = ?", [name])
            if password_hash is not None:
                self.db.execute("UPDATE users SET password_hash = ? WHERE name = ?", [password_hash, name])
            self._insert_events([event])
        return True

    def users(self) -> list[dict[str, Any]]:
        """Every account without its hash: name, role, created_at, active."""
        return [dict(r, active=bool(r["active"])) for r in self.db.query(
            "SELECT name, role, created_at, active FROM users ORDER BY name")]

    # -- the office at run time ----------------------------------------------------------------

    def overrides(self) -> dict[str, dict[str, Any]]:
        """key -> {"value", "set_at", "set_by"}: the admins' changes to the office file's keys."""
        return {r["key"]: {"value": json.loads(r["value"]), "set_at": r["set_at"], "set_by": r["set_by"]}
                for r in self.db.query("SELECT * FROM office_overrides")}

    def announcements(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM announcements ORDER BY position, id"))

    def put_announcement(self, row: dict[str, Any], event: Event) -> None:
        """Insert or replace one announcement (or its tombstone), with its log row, in one transaction."""
        with self.immediate(self.db):
            self.db.execute(
                "INSERT INTO announcements (id, text_zh, text_en, starts_at, ends_at, position, deleted, "
                "updated_at, updated_by) VALUES (:id, :text_zh, :text_en, :starts_at, :ends_at, :position, "
                ":deleted, :updated_at, :updated_by) ON CONFLICT(id) DO UPDATE SET text_zh = excluded.text_zh, "
                "text_en = excluded.text_en, starts_at = excluded.starts_at, ends_at = excluded.ends_at, "
                "deleted = excluded.deleted, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                row)
            self._insert_events([event])

    def issued_devices(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM devices ORDER BY created_at, id"))

    def device_seen(self) -> dict[str, str]:
        """device id -> when it last used its token (ISO), as last written."""
        return {r["id"]: r["last_seen"] for r in self.db.query("SELECT id, last_seen FROM device_seen")}

    def put_device_seen(self, seen: dict[str, str]) -> None:
        """When these devices were last seen, in one transaction; no log row (it is not a change of anything)."""
        if not seen:
            return
        with self.immediate(self.db):
            self.db.conn.executemany(
                "INSERT INTO device_seen (id, last_seen) VALUES (?, ?) "
                "ON CONFLICT(id) DO UPDATE SET last_seen = excluded.last_seen", list(seen.items()))

    def put_device(self, row: dict[str, Any], event: Event) -> None:
        """Issue a device (or record a revocation), with its log row, in one transaction."""
        with self.immediate(self.db):
            self.db.execute(
                "INSERT INTO devices (id, role, counter, token_sha256, created_at, created_by, revoked_at, "
                "revoked_by) VALUES (:id, :role, :counter, :token_sha256, :created_at, :created_by, :revoked_at, "
                ":revoked_by) ON CONFLICT(id) DO UPDATE SET role = excluded.role, counter = excluded.counter, "
                "token_sha256 = excluded.token_sha256, created_at = excluded.created_at, "
                "created_by = excluded.created_by, revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by",
                row)
            self._insert_events([event])

    def media(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM media WHERE deleted = 0 ORDER BY uploaded_at, id"))

    def put_media(self, row: dict[str, Any], event: Event) -> None:
        with self.immediate(self.db):
            self.db.execute(insert_sql("media", row), row)
            self._insert_events([event])

    def delete_media(self, mid: str, event: Event) -> bool:
        with self.immediate(self.db):
            cur = self.db.execute("UPDATE media SET deleted = 1 WHERE id = ? AND deleted = 0", [mid])
            if cur.rowcount != 1:
                return False
            self._insert_events([event])
        return True

    def user_row(self, name: str) -> dict[str, Any] | None:
        """An account, active or not: name, role, active."""
        rows = list(self.db.query("SELECT name, role, active FROM users WHERE name = ?", [name]))
        return rows[0] if rows else None

    # -- staff sessions ------------------------------------------------------------------------

    def add_session(self, id_hash: str, user: str, counter: str | None, now: datetime, expires: datetime) -> None:
        with self.immediate(self.db):
            self.db.execute("DELETE FROM sessions WHERE expires_at < ?", [ts(now)])
            self.db.execute(
                "INSERT INTO sessions (id_hash, user, counter, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                [id_hash, user, counter, ts(now), ts(expires)])

    def session(self, id_hash: str, now: datetime) -> dict[str, Any] | None:
        """A live session of an active account: user, role, counter."""
        rows = list(self.db.query(
            "SELECT s.user, u.role, s.counter, s.expires_at FROM sessions s JOIN users u ON u.name = s.user "
            "WHERE s.id_hash = ? AND u.active = 1", [id_hash]))
        if not rows or datetime.fromisoformat(rows[0]["expires_at"]) <= now:
            return None
        return rows[0]

    def delete_session(self, id_hash: str) -> None:
        with self.immediate(self.db):
            self.db.execute("DELETE FROM sessions WHERE id_hash = ?", [id_hash])

    # -- writing -------------------------------------------------------------------------------

    def commit(
        self,
        change: Change,
        before: dict[str, Ticket],
        day: str,
        *,
        seq: int | None = None,
        idempotency: tuple[str, str, str, str, str] | None = None,
    ) -> None:
        """Store one Change in one transaction; nothing of it is kept if any part fails."""
        self.commit_batch([(change, before, day, seq, idempotency)])

    def commit_batch(
        self,
        batch: list[tuple[Change, dict[str, Ticket], str, int | None, tuple[str, str, str, str, str] | None]],
    ) -> None:
        """Store several Changes, in order, in one transaction (one fsync): all of them or none."""
        with self.immediate(self.writer):
            for change, before, day, seq, idempotency in batch:
                self._write(change, before, day, seq, idempotency)

    def _write(
        self,
        change: Change,
        before: dict[str, Ticket],
        day: str,
        seq: int | None,
        idempotency: tuple[str, str, str, str, str] | None,
    ) -> None:
        for t in change.tickets.values():
            old = before.get(t.id)
            if old is None:
                row = ticket_row(t)
                self.writer.execute(insert_sql("tickets", row), row)
                continue
            cur = self.writer.execute(
                "UPDATE tickets SET " + ", ".join(f"{k} = :{k}" for k in ticket_row(t) if k != "id")
                + " WHERE id = :id AND status = :old_status",
                {**ticket_row(t), "old_status": str(old.status)},
            )
            if cur.rowcount != 1:
                raise RuntimeError(f"ticket {t.id} changed under the hub (expected {old.status})")
        for c in change.counters.values():
            self.writer.execute(
                "INSERT INTO counters (id, open, ticket, streak) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET open = excluded.open, ticket = excluded.ticket, "
                "streak = excluded.streak",
                [c.id, int(c.open), c.ticket, c.streak],
            )
        if change.business_date:
            self._set_meta_on(self.writer, "business_date", change.business_date)
        for service, next_n in change.numbering.items():
            self.writer.execute(
                "INSERT INTO numbering (business_date, service, next_n) VALUES (?, ?, ?) "
                "ON CONFLICT(business_date, service) DO UPDATE SET next_n = excluded.next_n",
                [change.business_date or day, service, next_n],
            )
        for s in change.stats.values():
            self.writer.execute(
                "INSERT INTO service_stats (service, mean_s, visits, var_s2) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(service) DO UPDATE SET mean_s = excluded.mean_s, visits = excluded.visits, "
                "var_s2 = excluded.var_s2",
                [s.service, s.mean_s, s.visits, s.var_s2],
            )
        for b in change.appointments.values():
            row = appointment_row(b)
            self.writer.execute(
                insert_sql("appointments", row) + " ON CONFLICT(code) DO UPDATE SET "
                + ", ".join(f"{k} = excluded.{k}" for k in row if k != "code"), row)
        for o in change.overrides:
            self.writer.execute(
                "INSERT INTO office_overrides (key, value, set_at, set_by) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, set_at = excluded.set_at, "
                "set_by = excluded.set_by",
                [o.key, json.dumps(o.value, ensure_ascii=False), ts(o.at), o.actor])
        self._insert_events(change.events, self.writer)
        if seq is not None:
            self._set_meta_on(self.writer, "seq", str(seq))
        if idempotency is not None:
            device, key, bday, tid, request = idempotency
            self.writer.execute(
                "INSERT INTO idempotency (device, key, business_date, ticket, request) VALUES (?, ?, ?, ?, ?)",
                [device, key, bday, tid, request],
            )

    @staticmethod
    def _set_meta_on(db: Database, key: str, value: str) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def _insert_events(self, events: Iterable[Event], db: Database | None = None) -> None:
        for e in events:
            (db or self.db).execute(
                "INSERT INTO events (at, business_date, kind, ticket, actor, counter, service, lane, "
                "open_counters, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [ts(e.at), e.business_date, e.kind, e.ticket, e.actor, e.counter, e.service, e.lane,
                 e.open_counters, e.outcome, json.dumps(e.detail, ensure_ascii=False, sort_keys=True)],
            )
