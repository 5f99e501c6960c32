"""The hub: the one façade every route, page and socket handler calls.

Each operation is one method: it takes the lock once, closes the business day if midnight has
passed (one tick), lets the engine build a Change, stores it, applies it, announces it, and answers
with the view the caller needs (a ticket or a counter as JSON). Routes never drive the engine.

Order for every change (DESIGN.md): the engine builds a Change; the store commits it; the engine
applies it; then, still under the lock so that `seq` order is emit order, the listeners get the
`call`, `queue` and `counter` events. A failing listener is logged and never fails the request.
With group commit (`jiaohao serve`), the change is applied in memory at once and the caller waits,
outside the lock, until its transaction is on disk and its events are out (server/commit.py).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from . import protocol, ratings, users
from .commit import GroupCommit, Idempotency, Messages, Pending
from .engine.errors import NotFound, WrongState
from .engine.estimate import Estimates
from .engine.model import Appointment, Change, Event, Ticket
from .engine.office import Office
from .engine.queue import QueueEngine, new_ticket_id
from .store import History, Store
from .wire import shapes

log = logging.getLogger("jiaohao.hub")

Listener = Callable[[str, dict[str, Any]], None]
View = TypeVar("View")
RECENT_CALLS = 10


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    ) -> None:
        self.office = office
        self.store = store
        self.clock = clock
        self.lock = threading.RLock()
        now = clock()
        state = store.load(now.astimezone(office.tz).date().isoformat())
        self.engine = QueueEngine(office, state, new_id)
        self.seq = int(store.meta("seq") or 0)
        self.listeners: list[Listener] = []
        self._devices: dict[str, dict[str, Any]] = {}
        self._recent: list[dict[str, Any]] = self._load_recent_calls()
        # What answering a retried issue needs, for today only: (device, key) -> (ticket, request, pending).
        # The pending change is kept only until it is on disk (issue #14: nothing else of it stays).
        self._idem: dict[tuple[str, str], tuple[str, str, Pending | None]] = {}
        self._idem_day = self.engine.state.business_date
        self._group: GroupCommit | None = None
        with self.lock:
            self._commit(self.engine.roll_day(now), now)
            # Counters that the office file added since the last run are stored once.
            stored = store.counter_ids()
            missing = [c for c in self.engine.state.counters.values() if c.id not in stored]
            if missing:
                self._commit(Change(counters={c.id: c for c in missing}), now)
        self._load_idempotency()
        if group_commit:
            self._group = GroupCommit(store, self._emit, offload, self.seq)

    @property
    def history(self) -> History:
        """The read side that reports use (its own connection; never under the hub's lock)."""
        return self.store.history

    # -- the queue's operations: one call each, answered with the view the caller needs --------

    def issue(self, service: str, lane: str, device: str, key: str | None) -> tuple[dict[str, Any], bool]:
        """A new ticket (True), or with an Idempotency-Key already used today, the same one again (False)."""
        request = json.dumps({"service": service, "lane": lane}, sort_keys=True)
        with self.lock:
            now = self.clock()
            waits = [self._commit(self.engine.roll_day(now), now)]
            seen = self._idem.get((device, key)) if key else None
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
        return self._operate(lambda now: self.engine.call_next(cid, now, actor), self._subject_or_none)

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
            now = self.clock()
            waits = [self._commit(self.engine.roll_day(now), now)]
            change = op(now)
            waits.append(self._commit(change, now))
            result = view(change, now)
        self._wait(waits)
        return result

    def tick(self) -> None:
        """Every few seconds (`jiaohao serve`'s ticker): what time alone changes, e.g. the day closing at midnight."""
        with self.lock:
            now = self.clock()
            pending = self._commit(self.engine.roll_day(now), now)
        self._wait([pending])

    @staticmethod
    def _wait(waits: list[Pending | None]) -> None:
        for p in waits:
            if p is not None:
                p.wait()

    # -- reads: what is on disk and announced --------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[datetime]:
        """Under the lock: the day closed if midnight passed, every decided change gone out."""
        with self.lock:
            now = self.clock()
            pending = self._commit(self.engine.roll_day(now), now)
            if pending is not None:
                pending.wait()
            if self._group is not None and self._group.emitted_seq < self.seq:
                self._group.settle(self.seq)
            yield now

    def ticket(self, tid: str) -> dict[str, Any]:
        with self._reading() as now:
            t = self.engine.ticket(tid) or self.store.ticket(tid)
            if t is None:
                raise NotFound(f"No ticket '{tid}'. 查無此號碼牌。", code="unknown_ticket")
            return self._ticket_json(t, now)

    def counter(self, cid: str) -> dict[str, Any]:
        with self._reading():
            return self._counter_json(cid)

    def services(self) -> list[dict[str, Any]]:
        with self._reading() as now:
            return self._services_json(now)

    def devices(self) -> list[dict[str, Any]]:
        """Each device's last health report."""
        with self.lock:
            return [dict(d) for d in self._devices.values()]

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
                "announcements": [a.as_json() for a in self.office.announcements],
                "devices": [dict(d) for d in self._devices.values()],
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
        """A staff login. The slow hash is checked outside the lock: a login never stalls the queue."""
        with self.lock:
            row = self.store.user(name)
        return users.verify(row, password)

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
            now = self.clock()
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
            self.store.commit(change, before, day, seq=seq_after, idempotency=idempotency)
            self.engine.apply(change)
            self._remember(idempotency, None)
            self._emit(self._messages(change, queue_changed, now))
            return None
        self.engine.apply(change)
        pending = Pending(change, before, day, seq_after, idempotency, self._messages(change, queue_changed, now))
        self._remember(idempotency, pending)
        self._group.submit(pending)
        return pending

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
        return self.engine.estimates(now)

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
