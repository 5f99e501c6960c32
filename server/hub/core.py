"""The hub's core: the queue's operations, reads, storing and announcing (the façade is server/hub/__init__.py).

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

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from .. import protocol
from ..clock import HubClock, utcnow
from ..commit import GroupCommit, Idempotency, Messages, Pending, stamp_seq
from ..engine import runtime
from ..engine.errors import Gone, NotFound, WrongState
from ..engine.estimate import Estimates
from ..engine.model import Change, Ticket
from ..engine.office import Office
from ..engine.queue import QueueEngine, new_ticket_id
from ..store import History, StorageUnavailable, Store, storage_message
from ..wire import shapes

log = logging.getLogger("jiaohao.hub")

Listener = Callable[[str, dict[str, Any]], None]
View = TypeVar("View")
RECENT_CALLS = 10
# Today's Idempotency-Keys kept in memory at most; an older one is answered from the disk instead.
# A day of even a large office is a few thousand tickets, so this is never reached in practice.
MAX_IDEMPOTENCY_KEYS = 20_000
# A `hub` event (status and time) goes out at least this often, from the tick: boards keep the hub's time.
HUB_EVENT_EVERY_S = 60.0

__all__ = ["HubCore", "utcnow"]


class HubCore:
    """The queue's operations, reads, storing and announcing; the areas (server/hub/*.py) build on it."""

    # Provided by the areas, declared here so that the core reads on its own (server/hub/__init__.py).
    _load_runtime: Callable[[Office, datetime], None]
    _office_now: Callable[[], Office]
    _tick_office: Callable[[datetime], Pending | None]
    _active_json: Callable[[datetime], list[dict[str, Any]]]
    _load_devices: Callable[[], None]
    _devices_json: Callable[[], list[dict[str, Any]]]
    store_seen: Callable[..., None]
    on_revoke: list[Callable[[str], None]]

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
        report_offload: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> None:
        """`clock`: the wall clock. Its steps are found against `monotonic`, by default the system's
        when the wall clock is the real one; a test that moves the wall clock by hand gives its own.
        `hash_offload(fn)` runs a password hash off the event loop and returns its result (serve
        gives a small thread pool of its own, so a login storm never holds up a commit); `report_offload(fn)`
        likewise runs a report's reads (server/hub/reports.py)."""
        self.file_office = office  # what the office file said at start; self.office is the office now
        self.store = store
        if monotonic is None and clock is utcnow:
            monotonic = time.monotonic
        self.clock = HubClock(clock, monotonic, floor=store.newest_event_at())
        self.lock = threading.RLock()
        self._new_id = new_id
        self._hash_offload = hash_offload or (lambda fn: fn())
        self._report_offload = report_offload or (lambda fn: fn())
        self.listeners: list[Listener] = []
        # Called (user, session id) when sessions end: logout (that session), an account disabled or its
        # password reset (user, None). The sockets opened with them are closed (server/realtime.py).
        self.on_sessions_end: list[Callable[[str | None, str | None], None]] = []
        # Called after every tick, outside the lock: what the adapters check now and then.
        self.on_tick: list[Callable[[], None]] = []
        self._devices: dict[str, dict[str, Any]] = {}
        # What answering a retried issue needs, for today only: (device, key) -> (ticket, request, pending).
        # The pending change is kept only until it is on disk (issue #14: nothing else of it stays).
        self._idem: dict[tuple[str, str], tuple[str, str, Pending | None]] = {}
        self._group: GroupCommit | None = None
        self._stale = False  # a failed commit left memory ahead of the disk and the reload failed too
        self._storage_error = False  # the last change could not be stored
        self._status = "ok"
        self._status_sent: datetime | None = None  # the hub's time of the last `hub` event
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
            self._status_sent = now  # clients get the time with `state` on connect; the tick's first in a minute
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
        self._announce_status(periodic=True)
        self.store_seen()  # when devices were last seen: at most once a minute each (hub/devices.py)
        for hook in list(self.on_tick):
            try:
                hook()
            except Exception:
                log.exception("a tick hook failed")

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

    def services_answer(self) -> dict[str, Any]:
        """GET /services: the services, and what a kiosk's poll also needs: the hub's status and its time."""
        with self._reading() as now:
            return {"services": self._services_json(now), "hub": self._status_json(),
                    "server_time": self._server_time(now)}

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
                "server_time": self._server_time(now),
                "hub": self._status_json(),
            }


    # -- the office now (its changes at run time are in server/hub/office.py) ----------------

    @property
    def office(self) -> Office:
        """The office as it is now: the file, the admins' changes on top, the schedule's window on top."""
        return self.engine.office


    # -- storing and announcing ----------------------------------------------------------------

    def _commit(self, change: Change, now: datetime, idempotency: Idempotency | None = None) -> Pending | None:
        """Store, apply and announce one Change; with group commit, the caller waits on the result."""
        if change.empty and idempotency is None:
            return None
        state = self.engine.state
        before = {tid: state.tickets[tid] for tid in change.tickets if tid in state.tickets}
        queue_changed, seq_after = stamp_seq(change, before, self.seq)
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

    def _server_time(self, now: datetime) -> str | None:
        """`server_time`: the hub's time for kiosks and boards to show (a Pi's own clock may be off), to the
        millisecond; null while the clock is behind, since then the hub does not know the time either."""
        if self.clock.behind:
            return None
        return now.astimezone(self.office.tz).isoformat(timespec="milliseconds")

    def _announce_status(self, periodic: bool = False) -> None:
        """A `hub` event (no seq) when the hub starts or stops refusing changes, with its status and its time;
        `periodic` (the tick): also when the last one is HUB_EVENT_EVERY_S old, so that a board connected for
        weeks keeps showing the hub's time to the second, whatever its own oscillator drifts."""
        with self.lock:
            now = self.clock()
            status = self._current_status()
            changed = status != self._status
            due = periodic and (self._status_sent is None
                                or (now - self._status_sent).total_seconds() >= HUB_EVENT_EVERY_S)
            if not changed and not due:
                return
            self._status, self._status_sent = status, now
            data = {**self._status_json(), "server_time": self._server_time(now)}
        if changed:
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

