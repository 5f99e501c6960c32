"""The hub: the one façade every route, page and socket handler calls.

Each operation is one method: it takes the lock once, closes the business day if midnight has
passed (one tick), lets the engine build a Change, stores it, applies it, announces it, and answers
with the view the caller needs (a ticket or a counter as JSON). Routes never drive the engine.

Order for every change (DESIGN.md): the engine builds a Change; the store commits it; the engine
applies it; then, still under the lock so that `seq` order is emit order, the listeners get the
`call`, `queue` and `counter` events. A failing listener is logged and never fails the request.
With group commit (`jiaohao serve`), the change is applied in memory at once and the caller waits,
outside the lock, until its transaction is on disk and its events are out (server/commit.py); if
that commit fails, the memory is reloaded from the disk and the change is refused (503).

The time of every operation comes from the hub's clock (server/clock.py): it never goes backwards,
and while it reads earlier than the newest event stored, nothing is changed (503 `clock_behind`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from . import media, protocol, ratings, users
from .clock import HubClock, utcnow
from .commit import GroupCommit, Idempotency, Messages, Pending
from .engine import runtime
from .engine.errors import Gone, Invalid, NotFound, TooLarge, WrongState
from .engine.estimate import Estimates
from .engine.model import Appointment, Change, Event, Override, Ticket
from .engine.office import COUNTER_ROLES, ROLES, Device, Office
from .engine.queue import QueueEngine, new_ticket_id
from .store import History, StorageUnavailable, Store, storage_message
from .wire import shapes
from .wire.text import Text

log = logging.getLogger("jiaohao.hub")

Listener = Callable[[str, dict[str, Any]], None]
View = TypeVar("View")
RECENT_CALLS = 10
# The schedule window in force, kept with the admins' changes so that it is stored with its edge's change.
WINDOW_KEY = "schedule.window"
ANNOUNCEMENT_CHARS = 500
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
# Today's Idempotency-Keys kept in memory at most; an older one is answered from the disk instead.
# A day of even a large office is a few thousand tickets, so this is never reached in practice.
MAX_IDEMPOTENCY_KEYS = 20_000

__all__ = ["Hub", "utcnow"]


def _session_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class Hub:
    def __init__(
        self,
        office: Office,
        store: Store,
        clock: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = new_ticket_id,
        *,
        group_commit: bool = False,
        offload: Callable[[Callable[[], None]], Any] | None = None,
        monotonic: Callable[[], float] | None = None,
        hash_offload: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> None:
        """`clock`: the wall clock. Its steps are found against `monotonic`, by default the system's
        when the wall clock is the real one; a test that moves the wall clock by hand gives its own.
        `hash_offload(fn)` runs a password hash off the event loop and returns its result (serve
        gives a small thread pool of its own, so a login storm never holds up a commit)."""
        self.file_office = office  # what the office file said at start; self.office is the office now
        self.store = store
        if monotonic is None and clock is utcnow:
            monotonic = time.monotonic
        self.clock = HubClock(clock, monotonic, floor=store.newest_event_at())
        self.lock = threading.RLock()
        self._new_id = new_id
        self._hash_offload = hash_offload or (lambda fn: fn())
        self.listeners: list[Listener] = []
        self._devices: dict[str, dict[str, Any]] = {}
        # What answering a retried issue needs, for today only: (device, key) -> (ticket, request, pending).
        # The pending change is kept only until it is on disk (issue #14: nothing else of it stays).
        self._idem: dict[tuple[str, str], tuple[str, str, Pending | None]] = {}
        self._group: GroupCommit | None = None
        self._stale = False  # a failed commit left memory ahead of the disk and the reload failed too
        self._storage_error = False  # the last change could not be stored
        self._status = "ok"
        with self.lock:
            now = self.clock()
            self._load(now, first=True)
            if not self.clock.behind:
                self._commit(self.engine.roll_day(now), now)
            # Counters that the office file added since the last run are stored once.
            stored = store.counter_ids()
            missing = [c for c in self.engine.state.counters.values() if c.id not in stored]
            if missing:
                self._commit(Change(counters={c.id: c for c in missing}), now)
            if not self.clock.behind:
                self._tick_office(now)  # a schedule's edge passed while the hub was down
            self._status = self._current_status()
        if group_commit:
            self._group = GroupCommit(store, self._emit, offload, self.seq, on_failure=self._reload)

    def _load(self, now: datetime, first: bool = False) -> None:
        """Memory as the disk has it: at start, and after a commit that failed (the admins' changes too)."""
        state = self.store.load(now.astimezone(self.file_office.tz).date().isoformat())
        revoke = [] if first else self.on_revoke  # the sockets' hooks outlive a reload
        self._load_runtime(self.file_office, now)
        self.on_revoke = revoke
        self.engine = QueueEngine(self._office_now(), state, self._new_id)
        self.seq = int(self.store.meta("seq") or 0)
        self._recent = self._load_recent_calls()
        self._load_idempotency()

    def _reload(self, error: BaseException) -> None:
        """The group commit failed: forget what was not stored, so memory is never ahead of the disk."""
        with self.lock:
            self._stale = self._storage_error = True
            try:
                self._recover()
            except StorageUnavailable:
                pass  # tried again before the next change
        self._announce_status()

    def _recover(self) -> None:
        """Under the lock: reload from the disk if a failed commit left memory ahead of it (else 503)."""
        if not self._stale:
            return
        try:
            self._load(self.clock())
        except Exception as e:  # the disk cannot even be read: refuse, and try again at the next change
            log.error("could not reload the hub's memory from disk: %s", e)
            raise StorageUnavailable(storage_message(e)) from e
        self._stale = False
        log.warning("the hub's memory is what is on disk again (seq %d)", self.seq)
        if self._group is not None:
            self._group.resume(self.seq)

    def _changing(self) -> datetime:
        """Under the lock, before any change: the time, or 503 while the clock is behind or memory is stale."""
        self.clock.check()
        self._recover()
        return self.clock()

    def tick(self) -> None:
        """Every few seconds (`jiaohao serve`'s ticker): what time alone changes: the day closing at midnight,
        a `[[schedule]]` window's edge, an announcement starting or ending; and the clock caught up, noticed.
        Nothing while the clock is behind or memory waits for the disk."""
        with self.lock:
            now = self.clock()
            waits: list[Pending | None] = []
            if not self.clock.behind and not self._stale:
                try:
                    waits = [self._commit(self.engine.roll_day(now), now), self._tick_office(now)]
                except StorageUnavailable as e:
                    log.error("could not store what time changed: %s", e)
        try:
            self._wait(waits)
        except StorageUnavailable:
            pass  # refused and logged by the group commit; the next tick tries again
        self._announce_status()

    @property
    def history(self) -> History:
        """The read side that reports use (its own connection; never under the hub's lock)."""
        return self.store.history

    # -- the queue's operations: one call each, answered with the view the caller needs --------

    def issue(self, service: str, lane: str, device: str, key: str | None) -> tuple[dict[str, Any], bool]:
        """A new ticket (True), or with an Idempotency-Key already used today, the same one again (False)."""
        request = json.dumps({"service": service, "lane": lane}, sort_keys=True)
        with self.lock:
            now = self._changing()
            waits = [self._commit(self.engine.roll_day(now), now)]
            seen = self._idem.get((device, key)) if key else None
            if seen is None and key is not None and len(self._idem) >= MAX_IDEMPOTENCY_KEYS:
                stored = self.store.idempotent(device, key, self.engine.state.business_date)
                seen = (stored[0], stored[1], None) if stored else None
            if seen is not None:
                tid, first_request, pending = seen
                if first_request != request:
                    raise WrongState(
                        "This Idempotency-Key was already used today for a different request. "
                        "同一個 Idempotency-Key 已用於另一筆取號。",
                        code="idempotency_key_reused",
                    )
                waits.append(pending)  # the first request's ticket is on disk before anyone is told of it
                created = False
            else:
                change = self.engine.issue(service, lane, now, device)
                assert change.ticket
                tid = change.ticket
                idem = (device, key, self.engine.state.business_date, tid, request) if key else None
                waits.append(self._commit(change, now, idem))
                created = True
            view = self._ticket_json(self.engine.state.tickets[tid], now)
        self._wait(waits)
        if key is not None:
            self._forget_pending(device, key)
        return view, created

    def cancel(self, tid: str, actor: str) -> dict[str, Any]:
        return self._operate(lambda now: self.engine.cancel(tid, now, actor), self._subject)

    def call_next(self, cid: str, actor: str) -> dict[str, Any] | None:
        """The ticket now called at `cid`, or None when nothing it serves is waiting."""
        return self._operate(lambda now: self.engine.call_next(cid, now, actor, self.clock.steps),
                             self._subject_or_none)

    def recall(self, cid: str, actor: str) -> dict[str, Any]:
        return self._operate(lambda now: self.engine.recall(cid, now, actor), self._subject)

    def start(self, cid: str, actor: str) -> dict[str, Any]:
        return self._operate(lambda now: self.engine.start(cid, now, actor), self._subject)

    def finish(self, cid: str, actor: str) -> dict[str, Any]:
        return self._operate(lambda now: self.engine.finish(cid, now, actor), self._subject)

    def no_show(self, cid: str, actor: str) -> dict[str, Any]:
        return self._operate(lambda now: self.engine.no_show(cid, now, actor), self._subject)

    def transfer(self, cid: str, service: str, actor: str) -> dict[str, Any]:
        return self._operate(lambda now: self.engine.transfer(cid, service, now, actor), self._subject)

    def walk_in(self, cid: str, service: str, lane: str, actor: str) -> dict[str, Any]:
        return self._operate(lambda now: self.engine.walk_in(cid, service, lane, now, actor), self._subject)

    def set_open(self, cid: str, is_open: bool, actor: str) -> dict[str, Any]:
        """Open or close a counter; answered with the counter."""
        return self._operate(lambda now: self.engine.set_open(cid, is_open, now, actor),
                             lambda change, now: self._counter_json(cid))

    def note(self, cid: str, kind: str, actor: str) -> None:
        """A log row of something staff did at a counter (login, logout)."""
        self._operate(lambda now: self.engine.note(cid, kind, now, actor), lambda change, now: None)

    def _subject(self, change: Change, now: datetime) -> dict[str, Any]:
        assert change.ticket, "every ticket operation but call_next acts on a ticket"
        return self._ticket_json(self.engine.state.tickets[change.ticket], now)

    def _subject_or_none(self, change: Change, now: datetime) -> dict[str, Any] | None:
        return self._subject(change, now) if change.ticket else None

    def _operate(self, op: Callable[[datetime], Change], view: Callable[[Change, datetime], View]) -> View:
        """One lock, one tick, one engine operation; the view is made under the same lock.

        With group commit the caller waits, outside the lock, until the change is on disk and
        announced: nothing is answered that is not stored. Raises the engine's errors untouched.
        """
        with self.lock:
            now = self._changing()
            waits = [self._commit(self.engine.roll_day(now), now)]
            change = op(now)
            waits.append(self._commit(change, now))
            result = view(change, now)
        self._wait(waits)
        return result

    def _wait(self, waits: list[Pending | None]) -> None:
        try:
            for p in waits:
                if p is not None:
                    p.wait()
        except StorageUnavailable:
            self._announce_status()
            raise
        if any(p is not None for p in waits):
            self._storage_error = False
        if self._status != "ok":
            self._announce_status()  # stored again, or the clock caught up: boards drop their banner

    # -- reads: what is on disk and announced --------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[datetime]:
        """Under the lock: the day closed if midnight passed, every decided change gone out."""
        with self.lock:
            now = self.clock()
            if not self.clock.behind and not self._stale:
                try:
                    pending = self._commit(self.engine.roll_day(now), now)
                    if pending is not None:
                        pending.wait()
                except StorageUnavailable:
                    pass  # reads go on; the day is closed by the next change that can be stored
            if self._group is not None and self._group.emitted_seq < self.seq:
                self._group.settle(self.seq)
            yield now

    def ticket(self, tid: str) -> dict[str, Any]:
        with self._reading() as now:
            t = self.engine.ticket(tid) or self.store.ticket(tid)
            if t is None:
                raise NotFound(f"No ticket '{tid}'. 查無此號碼牌。", code="unknown_ticket")
            return self._ticket_json(t, now)

    def public_ticket(self, tid: str) -> dict[str, Any]:
        """A ticket as its QR code may see it: until the end of the day after its business day, then 410.

        Paper tickets are thrown away with the QR code on them; after that day nobody should learn from one
        what number, lane or counter its holder had (CONTRACT.md, "When things go wrong")."""
        view = self.ticket(tid)
        today = self.engine.business_date(self.clock())
        last = (datetime.fromisoformat(view["business_date"]) + timedelta(days=1)).date().isoformat()
        if today > last:
            raise Gone("This ticket has expired; its page is kept only until the day after it was issued. "
                       "此號碼牌已過期。", code="ticket_expired")
        return view

    def counter(self, cid: str) -> dict[str, Any]:
        with self._reading():
            return self._counter_json(cid)

    def services(self) -> list[dict[str, Any]]:
        with self._reading() as now:
            return self._services_json(now)

    def devices(self) -> list[dict[str, Any]]:
        """Every device: where it comes from, when it was last seen, its last health report."""
        with self.lock:
            return self._devices_json()

    def console_state(self, cid: str) -> dict[str, Any]:
        """What the counter console shows: its counter, every queue, and the devices' health."""
        with self._reading() as now:
            return {"counter": self._counter_json(cid), "services": self._services_json(now), "seq": self.seq,
                    "devices": [dict(d) for d in self._devices.values()]}

    def state(self) -> dict[str, Any]:
        """The board's snapshot: `seq` is that of the last event it includes."""
        with self._reading() as now:  # after midnight, never show yesterday's queue
            return {
                "seq": self.seq,
                "counters": [self._counter_json(c.id) for c in self.office.counters],
                "recent_calls": list(self._recent),
                "services": self._services_json(now),
                "business_date": self.engine.state.business_date,
                "office": protocol.office_info(self.office).to_json(),
                "announcements": self._active_json(now),
                "devices": [dict(d) for d in self._devices.values()],
                "hub": self._status_json(),
            }

    # -- devices, staff, ratings ---------------------------------------------------------------

    def report_device(self, device_id: str, state: str, code: str, message: dict[str, str]) -> dict[str, Any]:
        """A device's own health (a kiosk's paper running low): kept, logged, and shown to staff.

        Sent as a `device` event without a `seq`: `seq` counts only call, queue and counter events.
        """
        with self.lock:
            now = self.clock()
            entry = {"id": device_id, "state": state, "code": code, "message": message,
                     "at": protocol.iso(now, self.office)}
            changed = self._devices.get(device_id, {}).get("code") != code
            self._devices[device_id] = entry
            if changed:
                self.store.add_event(Event(kind="device_status", at=now, business_date=self.engine.state.business_date,
                                           actor=device_id, outcome=code, detail={"state": state}))
        if changed:
            self._emit([("device", dict(entry))])
        return entry

    def authenticate(self, name: str, password: str) -> users.User | None:
        """A staff login. The slow hash (about 100 ms of scrypt) runs outside the lock and off the event
        loop: a storm of wrong logins never stalls issuing and calling."""
        with self.lock:
            row = self.store.user(name)
        user: users.User | None = self._hash_offload(lambda: users.verify(row, password))
        return user

    # -- staff sessions: on the hub, so that logout and disabling an account end them at once ----

    def open_session(self, user: users.User, counter: str | None, hours: float) -> str:
        """A new login session; the id goes into the cookie, only its hash into the database."""
        sid = secrets.token_urlsafe(32)
        with self.lock:
            now = self.clock()
            self.store.add_session(_session_hash(sid), user.name, counter, now, now + timedelta(hours=hours))
        return sid

    def staff_session(self, sid: object) -> dict[str, Any] | None:
        """`{"user", "role", "counter"}` of a live session, or None (logged out, expired, account disabled)."""
        if not isinstance(sid, str) or not sid:
            return None
        with self.lock:
            return self.store.session(_session_hash(sid), self.clock())

    def close_session(self, sid: object) -> None:
        if isinstance(sid, str) and sid:
            with self.lock:
                self.store.delete_session(_session_hash(sid))

    def disable_user(self, name: str, actor: str) -> dict[str, Any]:
        """Disable a staff account (POST /users/{id}/disable): its sessions end now, it cannot log in again."""
        self.set_user(name, actor, active=False)
        with self.lock:
            row = self.store.user_row(name)
        assert row is not None
        return {"name": row["name"], "role": row["role"], "active": bool(row["active"])}

    def secret(self, name: str) -> str:
        """A secret kept in the database (the session key), made on first use."""
        with self.lock:
            value = self.store.meta(name)
            if not value:
                value = secrets.token_hex(32)
                self.store.set_meta(name, value)
            return value

    def rating_visit(self, cid: str) -> dict[str, Any] | None:
        """The visit a citizen at this counter may rate now (its number and end), or None."""
        with self._reading() as now:
            visit = self._rateable(cid, now)
            if visit is None:
                return None
            t = self.engine.ticket(visit["ticket"]) or self.store.ticket(visit["ticket"])
            return {"number": t.number if t else None, "finished_at": visit["at"]}

    def rate(self, cid: str, score: int, comment: str | None, source: str) -> dict[str, Any]:
        """Store a rating of the counter's latest visit, against the visit, the counter and the clerk."""
        with self.lock:
            now = self._changing()
            visit = self._rateable(cid, now)
            if visit is None:
                raise WrongState("There is no finished visit at this counter to rate now. 目前沒有可評分的服務。",
                                 code="nothing_to_rate")
            ticket = self.engine.ticket(visit["ticket"]) or self.store.ticket(visit["ticket"])
            day = self.engine.business_date(now)
            row = {"ticket": visit["ticket"], "at": now.isoformat(timespec="milliseconds"), "business_date": day,
                   "counter": cid, "clerk": visit["actor"], "service": visit["service"] or "", "score": score,
                   "comment": comment, "source": source}
            event = Event(kind="rated", at=now, business_date=day, ticket=visit["ticket"], actor=source, counter=cid,
                          service=visit["service"], lane=ticket.lane if ticket else None,
                          open_counters=sum(1 for c in self.engine.state.counters.values() if c.open),
                          outcome=str(score), detail={"clerk": visit["actor"]})
            self.store.add_rating(row, event)
        return {"ticket_number": ticket.number if ticket else None, "counter": cid, "score": score, "at": row["at"]}

    def _rateable(self, cid: str, now: datetime) -> dict[str, Any] | None:
        visit = self.store.last_visit_at(cid, self.engine.business_date(now))
        if visit is None or visit["rated"]:
            return None
        if now - datetime.fromisoformat(visit["at"]) > timedelta(seconds=ratings.RATE_WINDOW_S):
            return None
        return visit

    # -- appointments (網路預約報到, CONTRACT.md "Appointments") ------------------------------------

    def import_appointments(
        self, entries: list[tuple[int, Appointment]], actor: str, unread: list[dict[str, object]] | None = None
    ) -> int:
        """Bookings from an import, all in one transaction or none (422 `invalid_appointments`)."""
        codes = [b.code for _, b in entries]

        def op(now: datetime) -> Change:
            return self.engine.book(entries, now, actor, self.store.appointment_codes(codes), unread)

        self._operate(op, lambda change, now: None)
        return len(entries)

    def check_in(self, code: str, device: str) -> tuple[dict[str, Any], dict[str, Any], bool]:
        """(ticket, booking, created): the kiosk's check-in; the same code again is the same ticket."""

        def op(now: datetime) -> Change:
            past = None if self.engine.booking(code) else self.store.appointment(code)
            return self.engine.check_in(code, now, device, past)

        def view(change: Change, now: datetime) -> tuple[dict[str, Any], dict[str, Any], bool]:
            assert change.ticket
            t = self.engine.ticket(change.ticket) or self.store.ticket(change.ticket)
            booking = self.engine.booking(code)
            assert t is not None and booking is not None
            return self._ticket_json(t, now), protocol.appointment_json(booking, self.office), bool(change.tickets)

        return self._operate(op, view)

    def appointments(self, day: str | None) -> tuple[str, list[dict[str, Any]]]:
        """A day's bookings (today's when `day` is None) and what became of each."""
        with self._reading():
            day = day or self.engine.state.business_date
            if day >= self.engine.state.business_date:
                found = self.engine.bookings(day)
            else:
                found = self.store.appointments(day)
            return day, [protocol.appointment_json(b, self.office) for b in found]

    def next_appointments(self, cid: str) -> list[dict[str, Any]]:
        """For the counter console: the next bookings due at this counter, with their tickets' numbers."""
        with self._reading() as now:
            out = []
            for b in self.engine.due_appointments(cid, now):
                t = self.engine.ticket(b.ticket) if b.ticket else None
                out.append({**protocol.appointment_json(b, self.office), "number": t.number if t else None})
            return out

    def appointments_went_ahead(self, tid: str) -> int:
        """How many appointments were or will be called before this waiting ticket (the status page says why)."""
        with self._reading() as now:
            return self.engine.appointments_went_ahead(tid, now)
    # -- the office at run time (CONTRACT.md; docs/configuration.md says which wins) ------------

    @property
    def office(self) -> Office:
        """The office as it is now: the file, the admins' changes on top, the schedule's window on top."""
        return self.engine.office

    def _load_runtime(self, office: Office, now: datetime) -> None:
        self._overrides: dict[str, dict[str, Any]] = self.store.overrides()
        window = self._overrides.get(WINDOW_KEY, {}).get("value") or None
        self._window: dict[str, Any] | None = window if isinstance(window, dict) else None
        self._announcements = self._load_announcements(office)
        self._active = runtime.active_ids(self._announcements, now)
        self._issued: dict[str, Device] = {}  # sha256 of the token -> device
        self._revoked: dict[str, str] = {}  # device id -> when
        self._issued_at: dict[str, str] = {}
        for r in self.store.issued_devices():
            if r["revoked_at"]:
                self._revoked[r["id"]] = r["revoked_at"]
            elif r["token_sha256"]:
                self._issued[r["token_sha256"]] = Device(r["id"], r["role"], "", r["counter"])
                self._issued_at[r["id"]] = r["created_at"]
        self._seen: dict[str, str] = {}
        self.on_revoke: list[Callable[[str], None]] = []

    def _load_announcements(self, office: Office) -> list[runtime.Announcement]:
        stored = {r["id"]: r for r in self.store.announcements()}
        out = []
        for a in runtime.file_announcements(office):
            r = stored.pop(a.id, None)
            out.append(a if r is None else _announcement(r))
        out += [_announcement(r) for r in stored.values()]
        return [a for a in out if a.text.zh]  # a deleted one is kept as a row with no text

    def _office_now(self) -> Office:
        admin = runtime.overlay(self.file_office, {k: v["value"] for k, v in self._overrides.items()})
        w = self._window
        if w is None or not 0 <= w["index"] < len(self.file_office.schedule):
            return admin
        since = {_counter_key(k)[0]: datetime.fromisoformat(v["set_at"]) for k, v in self._overrides.items()
                 if k.startswith("counters.") and k.endswith(".services")}
        return runtime.scheduled(admin, self.file_office.schedule[w["index"]], since,
                                 datetime.fromisoformat(w["started"]))

    def device_for_token(self, token: str) -> Device | None:
        """The device behind a token: the office file's (unless revoked) or one issued here (by its hash)."""
        dev = self.office.device_for_token(token)
        if dev is not None and dev.id in self._revoked:
            dev = None
        if dev is None:
            dev = self._issued.get(_token_hash(token))
        if dev is not None:
            self._seen[dev.id] = protocol.iso(self.clock(), self.office) or ""
        return dev

    def _tick_office(self, now: datetime) -> Pending | None:
        pending = None
        local = now.astimezone(self.office.tz)
        index = runtime.window_at(self.file_office, local)
        day = local.date().isoformat()
        old = self._window
        was = (old["date"], old["index"]) if old else None
        if was != ((day, index) if index is not None else None):
            ended = self.file_office.schedule[old["index"]] if old and old["index"] < len(self.file_office.schedule) \
                else None
            starts = self.file_office.schedule[index] if index is not None else None
            close = list(starts.close) if starts else []
            reopen = [c for c in (ended.close if ended else ()) if c not in close]
            new = {"date": day, "index": index, "started": now.isoformat()} if index is not None else None
            self._window = new
            office = self._office_now()
            self._window = old
            kind = "schedule_started" if new else "schedule_ended"
            change = self.engine.schedule_edge(office, close, reopen, now, kind, index if new else old["index"])
            change.overrides.append(Override(WINDOW_KEY, new, now, "schedule"))
            pending = self._commit(change, now)
            self._window = new
            self._overrides[WINDOW_KEY] = {"value": new, "set_at": now.isoformat(), "set_by": "schedule"}
        self._announce_if_changed(now)
        return pending

    def _announce_if_changed(self, now: datetime) -> None:
        active = runtime.active_ids(self._announcements, now)
        if active != self._active:
            self._active = active
            self._emit([("announcements", {"announcements": self._active_json(now)})])

    def _active_json(self, now: datetime) -> list[dict[str, Any]]:
        return [a.as_json(now) for a in self._announcements if a.active(now)]

    def office_json(self) -> dict[str, Any]:
        """GET /office: the office file's keys as the hub runs them now, without tokens, and what admins changed."""
        with self._reading() as now:
            o = self.office
            file_counters = {c.id: c for c in self.file_office.counters}
            overridden, ignored = [], []
            for key, v in sorted(self._overrides.items()):
                if key == WINDOW_KEY:
                    continue
                cid, name = _counter_key(key)
                fc = file_counters.get(cid)
                entry = {"key": key, "value": v["value"], "set_at": v["set_at"], "set_by": v["set_by"],
                         "file": None if fc is None else _counter_file_value(fc, name)}
                (overridden if fc is not None else ignored).append(entry)
            w = self._window
            return {
                "office": {"name": o.name.as_json(), "timezone": o.timezone, "public_url": o.public_url or None,
                           "ticket_footer": o.ticket_footer.as_json() if o.ticket_footer else None, "demo": o.demo},
                "services": [{"id": s.id, "name": s.name.as_json(), "prefix": s.prefix, "first": s.first,
                              "last": s.last, "default_minutes": s.default_minutes, "private": s.private}
                             for s in o.services],
                "lanes": [{"id": lane.id, "name": lane.name.as_json(), "weight": lane.weight} for lane in o.lanes],
                "policy": {"mode": o.policy.mode, "priority_run": o.policy.priority_run,
                           "max_wait_minutes": o.policy.max_wait_minutes},
                "counters": [{"id": c.id, "name": c.name.as_json(), "services": list(c.services),
                              "lanes": list(c.lanes), "open": self.engine.state.counters[c.id].open}
                             for c in o.counters],
                "devices": self._devices_json(),
                "announcements": [a.as_json(now) for a in self._announcements],
                "schedule": [{"from": x.starts.strftime("%H:%M"), "to": x.ends.strftime("%H:%M"),
                              "close": list(x.close), "serves": {k: list(v) for k, v in x.serves.items()},
                              "days": list(x.days)} for x in self.file_office.schedule],
                "schedule_now": None if w is None else {"index": w["index"], "since": w["started"]},
                "overridden": overridden,
                "ignored": ignored,
            }

    def configure_counter(self, cid: str, data: dict[str, Any], actor: str) -> dict[str, Any]:
        """PUT /counters/{id}: name, services, lanes; used from the counter's next call on."""
        with self.lock:
            now = self._changing()
            waits = [self._commit(self.engine.roll_day(now), now)]
            if self.office.counter(cid) is None:
                raise NotFound(f"No counter '{cid}' in this office. 沒有這個櫃台。", code="unknown_counter")
            name = _text_field(data, "name") if "name" in data else None
            services = _ids_field(data, "services")
            lanes = _ids_field(data, "lanes")
            runtime.check_counter(self.office, cid, name, services, lanes)
            values = {"name": name.as_json() if name else None, "services": services, "lanes": lanes}
            overrides = [Override(f"counters.{cid}.{k}", v, now, actor) for k, v in values.items() if v is not None]
            if not overrides:  # nothing to change: nothing stored, logged or sent
                view = self._counter_json(cid)
                view["lanes"] = list(self.office.counter(cid).lanes)  # type: ignore[union-attr]
                return view
            old = dict(self._overrides)
            for o in overrides:
                self._overrides[o.key] = {"value": o.value, "set_at": now.isoformat(), "set_by": actor}
            try:
                office = self._office_now()
            finally:
                self._overrides = old
            change = self.engine.configure_counter(cid, office, overrides, now, actor)
            waits.append(self._commit(change, now))
            for o in overrides:
                self._overrides[o.key] = {"value": o.value, "set_at": now.isoformat(), "set_by": actor}
            view = self._counter_json(cid)
            view["lanes"] = list(office.counter(cid).lanes)  # type: ignore[union-attr]
        self._wait(waits)
        return view

    def announcements(self) -> list[dict[str, Any]]:
        with self.lock:
            now = self.clock()
            return [a.as_json(now) for a in self._announcements]

    def put_announcement(self, aid: str | None, data: dict[str, Any], actor: str) -> tuple[dict[str, Any], bool]:
        """POST (aid None: a new one, True) or PUT /announcements/{id}; the active set goes out if it changed."""
        with self.lock:
            now = self.clock()
            existing = {a.id: (i, a) for i, a in enumerate(self._announcements)}
            if aid is not None and aid not in existing:
                raise NotFound(f"No announcement '{aid}'. 沒有這則公告。", code="unknown_announcement")
            text = _text_field(data, "text", limit=ANNOUNCEMENT_CHARS)
            starts, ends = _when(data, "starts_at", self.office), _when(data, "ends_at", self.office)
            if starts and ends and ends <= starts:
                raise Invalid("ends_at must be after starts_at. 結束時間必須晚於開始時間。", code="invalid_schedule")
            new = aid is None
            aid = aid or f"a-{secrets.token_hex(4)}"
            position = existing[aid][0] if aid in existing else len(self._announcements)
            a = runtime.Announcement(aid, text, starts, ends)
            self.store.put_announcement(_announcement_row(a, position, now, actor), Event(
                kind="announcement_added" if new else "announcement_changed", at=now,
                business_date=self.engine.state.business_date, actor=actor, outcome=aid,
                detail={"text": text.as_json(), "starts_at": _iso(starts), "ends_at": _iso(ends)}))
            if aid in existing:
                self._announcements[position] = a
            else:
                self._announcements.append(a)
            self._announce_if_changed(now)
            return a.as_json(now), new

    def delete_announcement(self, aid: str, actor: str) -> None:
        with self.lock:
            now = self.clock()
            found = [i for i, a in enumerate(self._announcements) if a.id == aid]
            if not found:
                raise NotFound(f"No announcement '{aid}'. 沒有這則公告。", code="unknown_announcement")
            gone = runtime.Announcement(aid, Text("", ""))
            self.store.put_announcement(
                {**_announcement_row(gone, found[0], now, actor), "deleted": 1},
                Event(kind="announcement_deleted", at=now, business_date=self.engine.state.business_date,
                      actor=actor, outcome=aid))
            del self._announcements[found[0]]
            self._announce_if_changed(now)

    def issue_device(self, did: str, role: str, counter: str | None, actor: str) -> tuple[dict[str, Any], str]:
        """POST /devices: a new device and its token, shown this once (only its hash is kept)."""
        if role not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}. 裝置角色錯誤。", code="invalid_role")
        if not DEVICE_ID.match(did):
            raise Invalid("id must be letters, digits, '-', '_' or '.', at most 40. 裝置代號格式錯誤。",
                          code="invalid_device_id")
        with self.lock:
            now = self.clock()
            if role in COUNTER_ROLES and (counter is None or self.office.counter(counter) is None):
                raise Invalid("A counter or tablet device names a counter of this office. 請指定本所的櫃台。",
                              code="unknown_counter")
            if role not in COUNTER_ROLES and counter is not None:
                raise Invalid("Only a counter or tablet device names a counter. 只有櫃台裝置需要指定櫃台。",
                              code="invalid_field")
            if self._device_known(did):
                raise WrongState(f"A device '{did}' exists already; revoke it first. 此裝置代號已存在。",
                                 code="device_exists")
            token = secrets.token_urlsafe(24)
            digest = _token_hash(token)
            at = now.isoformat()
            self.store.put_device({"id": did, "role": role, "counter": counter, "token_sha256": digest,
                                   "created_at": at, "created_by": actor, "revoked_at": None, "revoked_by": None},
                                  Event(kind="device_issued", at=now, business_date=self.engine.state.business_date,
                                        actor=actor, counter=counter, outcome=did, detail={"role": role}))
            dev = Device(did, role, "", counter)
            self._issued[digest] = dev
            self._issued_at[did] = at
            self._revoked.pop(did, None)
            return self._device_json(dev, "api"), token

    def revoke_device(self, did: str, actor: str) -> None:
        """DELETE /devices/{id}: its token is refused from the next request on; its sockets are closed."""
        with self.lock:
            now = self.clock()
            issued = [(h, d) for h, d in self._issued.items() if d.id == did]
            file_dev = next((d for d in self.file_office.devices if d.id == did and did not in self._revoked), None)
            if not issued and file_dev is None:
                raise NotFound(f"No device '{did}'. 沒有這個裝置。", code="unknown_device")
            dev = issued[0][1] if issued else file_dev
            assert dev is not None
            at = now.isoformat()
            self.store.put_device({"id": did, "role": dev.role, "counter": dev.counter, "token_sha256": None,
                                   "created_at": self._issued_at.get(did, at), "created_by": None,
                                   "revoked_at": at, "revoked_by": actor},
                                  Event(kind="device_revoked", at=now, business_date=self.engine.state.business_date,
                                        actor=actor, outcome=did))
            for h, _ in issued:
                del self._issued[h]
            self._revoked[did] = at
        for close in list(self.on_revoke):
            try:
                close(did)
            except Exception:
                log.exception("closing the connections of %s failed", did)

    def _device_known(self, did: str) -> bool:
        # An office file's device keeps its id even when revoked: issuing it again would bring back the
        # file's token too (it is in the file), so a replacement gets an id of its own.
        return any(d.id == did for d in self._issued.values()) or any(d.id == did for d in self.file_office.devices)

    def _devices_json(self) -> list[dict[str, Any]]:
        out = [self._device_json(d, "office_file") for d in self.file_office.devices if d.id not in self._revoked]
        out += [self._device_json(d, "api") for d in self._issued.values()]
        return out

    def _device_json(self, d: Device, source: str) -> dict[str, Any]:
        report = self._devices.get(d.id) or {}
        return {"id": d.id, "role": d.role, "counter": d.counter, "source": source,
                "last_seen": self._seen.get(d.id), "state": report.get("state"), "code": report.get("code"),
                "message": report.get("message"), "at": report.get("at")}

    def add_user(self, name: str, role: str, password: str, actor: str) -> dict[str, Any]:
        """POST /users. The slow hash is made outside the lock."""
        try:
            users.check(name, role, password)
        except users.UserError as e:
            code = "password_too_short" if "password" in str(e) else "invalid_user"
            raise Invalid(f"{e}. 帳號資料錯誤。", code=code) from None
        digest = users.hash_password(password)
        with self.lock:
            now = self.clock()
            event = Event(kind="user_added", at=now, business_date=self.engine.state.business_date, actor=actor,
                          outcome=name, detail={"role": role})
            if not self.store.add_user(name, role, digest, now, event):
                raise WrongState(f"A user '{name}' exists already. 此帳號已存在。", code="user_exists")
        return {"name": name, "role": role, "active": True}

    def set_user(self, name: str, actor: str, *, active: bool | None = None, password: str | None = None) -> None:
        """Disable or enable an account, or give it a new password (never shown afterwards)."""
        digest = None
        if password is not None:
            try:
                users.check_password(password)
            except users.UserError as e:
                raise Invalid(f"{e}. 密碼太短。", code="password_too_short") from None
            digest = users.hash_password(password)
        with self.lock:
            now = self.clock()
            kind = "user_password_reset" if password is not None else ("user_enabled" if active else "user_disabled")
            event = Event(kind=kind, at=now, business_date=self.engine.state.business_date, actor=actor, outcome=name)
            if not self.store.set_user(name, event, active=active, password_hash=digest):
                raise NotFound(f"No user '{name}'. 沒有這個帳號。", code="unknown_user")

    def users(self) -> list[dict[str, Any]]:
        with self.lock:
            return self.store.users()

    def add_media(self, name: str, data: bytes, actor: str) -> dict[str, Any]:
        """An image or video for the boards: checked by its first bytes and its size, then kept as a file."""
        fmt = media.sniff(data[:16])
        if fmt is None:
            raise Invalid("This file is not a PNG, JPEG, GIF or WebP image, nor an MP4 or WebM video. "
                          "僅接受 PNG、JPEG、GIF、WebP 圖片或 MP4、WebM 影片。", code="unsupported_media")
        limit = media.MAX_BYTES[fmt.kind]
        if len(data) > limit:
            raise TooLarge(f"A{'n' if fmt.kind == 'image' else ''} {fmt.kind} may be at most {limit // media.MIB} MiB. "
                           "檔案過大。", code="media_too_large")
        directory = media.media_dir(self.store.path)
        if directory is None:
            raise WrongState("This hub keeps no files (its database is in memory). 此主機無法儲存檔案。",
                             code="media_unavailable")
        mid = f"m-{secrets.token_hex(6)}"
        media.write(directory, mid + fmt.ext, data)  # outside the lock: a big file's fsync never stalls the queue
        with self.lock:
            now = self.clock()
            row = {"id": mid, "kind": fmt.kind, "mime": fmt.mime, "file": mid + fmt.ext, "size": len(data),
                   "name": (name or mid)[:200], "uploaded_at": now.isoformat(), "uploaded_by": actor, "deleted": 0}
            self.store.put_media(row, Event(kind="media_added", at=now, business_date=self.engine.state.business_date,
                                            actor=actor, outcome=mid, detail={"kind": fmt.kind, "size": len(data)}))
        return _media_json(row)

    def media(self) -> list[dict[str, Any]]:
        with self.lock:
            return [_media_json(r) for r in self.store.media()]

    def media_file(self, mid: str) -> tuple[Any, str]:
        """The stored file's path and type, for serving it back."""
        with self.lock:
            row = next((r for r in self.store.media() if r["id"] == mid), None)
        directory = media.media_dir(self.store.path)
        if row is None or directory is None or not (directory / row["file"]).is_file():
            raise NotFound(f"No media '{mid}'. 沒有這個檔案。", code="unknown_media")
        return directory / row["file"], row["mime"]

    def delete_media(self, mid: str, actor: str) -> None:
        with self.lock:
            now = self.clock()
            event = Event(kind="media_deleted", at=now, business_date=self.engine.state.business_date, actor=actor,
                          outcome=mid)
            rows = [r for r in self.store.media() if r["id"] == mid]
            if not rows or not self.store.delete_media(mid, event):
                raise NotFound(f"No media '{mid}'. 沒有這個檔案。", code="unknown_media")
        directory = media.media_dir(self.store.path)
        if directory is not None:
            (directory / rows[0]["file"]).unlink(missing_ok=True)

    # -- storing and announcing ----------------------------------------------------------------

    def _commit(self, change: Change, now: datetime, idempotency: Idempotency | None = None) -> Pending | None:
        """Store, apply and announce one Change; with group commit, the caller waits on the result."""
        if change.empty and idempotency is None:
            return None
        state = self.engine.state
        before = {tid: state.tickets[tid] for tid in change.tickets if tid in state.tickets}
        queue_changed = change.queue_changed(before)
        names = ["call"] * len(change.calls) + ["queue"] * queue_changed + ["counter"] * len(change.counters)
        # Each call's seq goes into its log row, so the recent calls keep it across a restart.
        call_events = [e for e in change.events if e.kind in ("called", "recalled")]
        for k, e in enumerate(call_events):
            e.detail["seq"] = self.seq + 1 + k
        seq_after = self.seq + len(names)
        day = state.business_date
        if self._group is None:
            try:
                self.store.commit(change, before, day, seq=seq_after, idempotency=idempotency)
            except StorageUnavailable:
                self._storage_error = True
                self._announce_status()
                raise
            self._storage_error = False
            self.engine.apply(change)
            self._remember(idempotency, None)
            self._emit(self._messages(change, queue_changed, now))
            return None
        self.engine.apply(change)
        pending = Pending(change, before, day, seq_after, idempotency, self._messages(change, queue_changed, now))
        self._remember(idempotency, pending)
        self._group.submit(pending)
        return pending

    # -- the hub's own health: what boards and kiosks show when it refuses changes -------------

    def _current_status(self) -> str:
        if self.clock.behind:
            return "clock_behind"
        if self._stale or self._storage_error:
            return "storage_unavailable"
        return "ok"

    def _status_json(self) -> dict[str, Any]:
        """`{"status": "ok" | "clock_behind" | "storage_unavailable", "message": {"zh-TW", "en"} | None}`."""
        messages = {
            "clock_behind": {"zh-TW": "主機時間尚未校正，暫停取號與叫號。",
                             "en": "The hub's clock is behind; no tickets are issued or called until it is right."},
            "storage_unavailable": {"zh-TW": "主機無法寫入資料，暫停取號與叫號。",
                                    "en": "The hub cannot store data; no tickets are issued or called."},
        }
        return {"status": self._status, "message": messages.get(self._status)}

    def _announce_status(self) -> None:
        """A `hub` event (no seq) when the hub starts or stops refusing changes."""
        with self.lock:
            status = self._current_status()
            if status == self._status:
                return
            self._status = status
            data = self._status_json()
        log.warning("hub status: %s", status)
        self._emit([("hub", data)])

    def _load_idempotency(self) -> None:
        """Today's Idempotency-Keys, in memory so that issuing never waits on a read of the disk."""
        self._idem_day = self.engine.state.business_date
        self._idem = {(device, key): (tid, request, None)
                      for device, key, tid, request in self.store.idempotency_keys(self._idem_day)}

    def _remember(self, idempotency: Idempotency | None, pending: Pending | None) -> None:
        if self.engine.state.business_date != self._idem_day:
            # A key is good for its business day only: yesterday's are forgotten, not kept for life.
            self._idem_day, self._idem = self.engine.state.business_date, {}
        if idempotency is not None:
            device, key, _day, tid, request = idempotency
            while len(self._idem) >= MAX_IDEMPOTENCY_KEYS:
                del self._idem[next(iter(self._idem))]  # the oldest; a retry of it is answered from the disk
            self._idem[(device, key)] = (tid, request, pending)

    def _forget_pending(self, device: str, key: str) -> None:
        """Once a ticket is on disk, a retry needs only its id and request, not the whole change."""
        with self.lock:
            seen = self._idem.get((device, key))
            if seen is not None and seen[2] is not None and seen[2].done.is_set():
                self._idem[(device, key)] = (seen[0], seen[1], None)

    def _messages(self, change: Change, queue_changed: bool, now: datetime) -> Messages:
        """The events of an applied change, stamped with their seq (in the order they must go out)."""
        out: Messages = []
        if change.business_date:
            self._recent.clear()  # numbers restart: yesterday's A001 must not look like today's
        for call in change.calls:
            self.seq += 1
            # The shape, not its JSON: a call is built once, never read back (the call path's cost).
            ticket = self._ticket_shape(self.engine.state.tickets[call.ticket], now)
            data = protocol.call_json(self.seq, self.office, call.counter, ticket, call.recall, call.at)
            self._recent.insert(0, data)
            del self._recent[RECENT_CALLS:]
            out.append(("call", data))
        if queue_changed:
            self.seq += 1
            out.append(("queue", {"seq": self.seq, "services": self._services_json(now)}))
        for cid in change.counters:
            self.seq += 1
            out.append(("counter", {"seq": self.seq, "counter": self._counter_json(cid)}))
        return out

    def _emit(self, out: Messages) -> None:
        for name, data in out:
            for listener in list(self.listeners):
                try:
                    listener(name, data)
                except Exception:  # a socket or a log sink must never fail the request
                    log.exception("listener failed on %s", name)

    def _load_recent_calls(self) -> list[dict[str, Any]]:
        out = []
        for r in self.store.recent_calls(RECENT_CALLS):
            t = self.store.ticket(r["ticket"]) if r["ticket"] else None
            if t is None or self.office.counter(r["counter"] or "") is None:
                continue
            if t.business_date != self.engine.state.business_date:
                break  # only today's calls: numbers restart every day
            at = datetime.fromisoformat(r["at"])
            seq = int(json.loads(r["detail"] or "{}").get("seq", 0))
            out.append(protocol.call_json(seq, self.office, r["counter"], protocol.ticket(t, self.office),
                                          r["kind"] == "recalled", at))
        return out

    # -- views (called under the lock) ---------------------------------------------------------

    def _ticket_shape(self, t: Ticket, now: datetime) -> shapes.Ticket:
        est = self._estimates(now).tickets.get(t.id) if t.status == "waiting" else None
        return protocol.ticket(t, self.office, est)

    def _ticket_json(self, t: Ticket, now: datetime) -> dict[str, Any]:
        """An answer to the device that asked: an appointment ticket carries its booking code.

        Calls and other broadcasts are built from `_ticket_shape`, which never does."""
        est = self._estimates(now).tickets.get(t.id) if t.status == "waiting" else None
        return protocol.ticket(t, self.office, est, with_code=True).to_json()

    def _estimates(self, now: datetime) -> Estimates:
        closes = runtime.planned_closes(self.file_office, now.astimezone(self.office.tz)) \
            if self.file_office.schedule else None
        return self.engine.estimates(now, closes, self.clock.steps)

    def _services_json(self, now: datetime) -> list[dict[str, Any]]:
        open_services = {s.id for s in self.office.services if self.engine.service_open(s.id)}
        only = {s.id for s in self.office.services if self.engine.only_session_now(s.id, now)}
        return protocol.services_json(self.office, self.engine.waiting_counts(), self._estimates(now), open_services,
                                      only)

    def _counter_json(self, cid: str) -> dict[str, Any]:
        state = self.engine.state
        return protocol.counter_json(cid, state.counters[cid], self.office, state.tickets)

    # -- the supervisor's floor (issue #10): read once under the lock, built outside it ----------

    def floor(self) -> dict[str, Any]:
        """Queues, counters, alerts and Erlang C advice now (server/reports/live.py)."""
        from .reports.live import floor

        return floor(self._floor_snapshot(), self.office)

    def floor_alerts(self) -> list[dict[str, Any]]:
        """The floor's alerts only: what the counter console shows beside its own queue."""
        return self.floor()["alerts"]

    def _floor_snapshot(self) -> Any:
        from .reports.live import Snapshot

        with self._reading() as now:
            state = self.engine.state
            return Snapshot(now=now, business_date=state.business_date, tickets=list(state.tickets.values()),
                            counters=dict(state.counters),
                            handling_s={s.id: self.engine.mean_seconds(s.id) for s in self.office.services},
                            devices=[dict(d) for d in self._devices.values()])

# -- the office at run time: parsing and rows ----------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def _announcement(r: dict[str, Any]) -> runtime.Announcement:
    if r["deleted"]:
        return runtime.Announcement(r["id"], Text("", ""))
    return runtime.Announcement(r["id"], Text(r["text_zh"], r["text_en"]),
                                datetime.fromisoformat(r["starts_at"]) if r["starts_at"] else None,
                                datetime.fromisoformat(r["ends_at"]) if r["ends_at"] else None)


def _announcement_row(a: runtime.Announcement, position: int, now: datetime, actor: str) -> dict[str, Any]:
    return {"id": a.id, "text_zh": a.text.zh, "text_en": a.text.en, "starts_at": _iso(a.starts_at),
            "ends_at": _iso(a.ends_at), "position": position, "deleted": 0, "updated_at": now.isoformat(),
            "updated_by": actor}


def _media_json(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "kind": r["kind"], "type": r["mime"], "size": r["size"], "name": r["name"],
            "uploaded_at": r["uploaded_at"], "url": f"/api/v1/media/{r['id']}"}


def _counter_key(key: str) -> tuple[str, str]:
    """`counters.3.1.services` -> ("3.1", "services"): a counter id may hold dots."""
    cid, _, name = key.removeprefix("counters.").rpartition(".")
    return cid, name


def _counter_file_value(c: Any, name: str) -> Any:
    return c.name.as_json() if name == "name" else list(getattr(c, name, ()))


def _text_field(data: dict[str, Any], key: str, limit: int = 100) -> Text:
    """`{"zh-TW": ..., "en": ...}`, both non-empty: 422 otherwise (a board shows both)."""
    value = data.get(key)
    if value is None:
        raise Invalid(f"'{key}' is required: {{\"zh-TW\": ..., \"en\": ...}}. 缺少中英文內容。", code="missing_text")
    zh = value.get("zh-TW") if isinstance(value, dict) else None
    en = value.get("en") if isinstance(value, dict) else None
    if not (isinstance(zh, str) and zh.strip() and isinstance(en, str) and en.strip()):
        raise Invalid(f"'{key}' needs a non-empty zh-TW and en text. 中英文內容都必須填寫。", code="missing_text")
    if len(zh) > limit or len(en) > limit:
        raise Invalid(f"'{key}' is longer than {limit} characters. 內容過長。", code="text_too_long")
    return Text(zh.strip(), en.strip())


def _ids_field(data: dict[str, Any], key: str) -> list[str] | None:
    if key not in data or data[key] is None:
        return None
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise Invalid(f"'{key}' must be a list of ids. 欄位 {key} 必須是代號清單。", code="invalid_field")
    return list(dict.fromkeys(value))


def _when(data: dict[str, Any], key: str, office: Office) -> datetime | None:
    """ISO-8601; without an offset, office-local time."""
    value = data.get(key)
    if value is None or value == "":
        return None
    try:
        d = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        d = None
    if d is None:
        raise Invalid(f"'{key}' must be an ISO-8601 time like 2026-12-01T08:00:00+08:00. 時間格式錯誤。",
                      code="invalid_time")
    return d if d.tzinfo else d.replace(tzinfo=office.tz)
