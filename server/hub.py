"""The hub: one lock, the engine, the store, and the listeners that announce what happened.

Order for every change (DESIGN.md): the engine builds a Change; the store commits it; the engine
applies it; then, still under the lock so that `seq` order is emit order, the listeners get the
`call`, `queue` and `counter` events. A failing listener is logged and never fails the request.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import protocol
from .engine.errors import NotFound, WrongState
from .engine.estimate import Estimates
from .engine.model import Change, Event, Ticket
from .engine.office import Office
from .engine.queue import QueueEngine, new_ticket_id
from .store import Store

log = logging.getLogger("jiaohao.hub")

Listener = Callable[[str, dict[str, Any]], None]
Messages = list[tuple[str, dict[str, Any]]]
Idempotency = tuple[str, str, str, str, str]
RECENT_CALLS = 10


@dataclass
class _Pending:
    """A change decided and applied in memory, waiting for its group commit."""

    change: Change
    before: dict[str, Ticket]
    day: str
    seq: int
    idempotency: Idempotency | None
    messages: Messages
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def wait(self) -> None:
        self.done.wait()
        if self.error is not None:
            raise RuntimeError("the hub could not store this change; it restarts") from self.error


class _GroupCommit:
    """One transaction, and one fsync, for every change decided while the last commit was on disk.

    Under a rush, sixteen kiosks' tickets share one fsync instead of queuing for sixteen. A change is
    answered and announced only once its transaction is committed. If a commit fails, memory is
    ahead of the disk: the requests get an error and the hub stops, so that it starts again from
    what is on disk (a supervisor such as systemd restarts it).
    """

    def __init__(self, store: Store, emit: Callable[[Messages], None],
                 offload: Callable[[Callable[[], None]], Any] | None, seq: int) -> None:
        self.store, self.emit = store, emit
        self.offload = offload or (lambda fn: fn())
        self.failed: BaseException | None = None
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._wake = threading.Event()
        self.emitted_seq = seq
        self._emitted = threading.Condition()
        threading.Thread(target=self._loop, name="group-commit", daemon=True).start()

    def submit(self, p: _Pending) -> None:
        if self.failed is not None:
            p.error = self.failed
            p.done.set()
            return
        with self._lock:
            self._pending.append(p)
            self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                batch, self._pending = self._pending, []
                self._wake.clear()
            if not batch:
                continue
            rows = [(p.change, p.before, p.day, p.seq, p.idempotency) for p in batch]
            try:
                self.offload(functools.partial(self.store.commit_batch, rows))
            except BaseException as e:
                log.critical("could not store %d changes; stopping the hub so it restarts from disk", len(batch),
                             exc_info=True)
                self.failed = e
                for p in batch:
                    p.error = e
                    p.done.set()
                threading.Timer(1.0, os._exit, (70,)).start()
                return
            for p in batch:
                self.emit(p.messages)
                p.done.set()
            with self._emitted:
                self.emitted_seq = batch[-1].seq
                self._emitted.notify_all()

    def settle(self, seq: int, timeout: float = 10.0) -> None:
        """Wait until every event up to `seq` has gone out (the caller holds the hub's lock)."""
        with self._emitted:
            self._emitted.wait_for(lambda: self.emitted_seq >= seq or self.failed is not None, timeout)


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
        self.devices: dict[str, dict[str, Any]] = {}
        self._recent: list[dict[str, Any]] = self._load_recent_calls()
        with self.lock:
            self._commit(self.engine.roll_day(now), now)
            # Counters that the office file added since the last run are stored once.
            missing = [c for c in self.engine.state.counters.values() if c.id not in self._stored_counters()]
            if missing:
                self._commit(Change(counters={c.id: c for c in missing}), now)
        # Today's idempotency keys, in memory so that issuing never waits on a read of the disk.
        self._idem: dict[tuple[str, str, str], tuple[str, str, _Pending | None]] = {
            (r["device"], r["key"], r["business_date"]): (r["ticket"], r["request"], None)
            for r in store.db.query("SELECT * FROM idempotency WHERE business_date = ?",
                                    [self.engine.state.business_date])
        }
        self._group = _GroupCommit(store, self._emit, offload, self.seq) if group_commit else None

    # -- running operations -------------------------------------------------------------------

    def run(
        self,
        op: Callable[[datetime], Change],
        idempotency: Callable[[Change], Idempotency | None] | None = None,
    ) -> Change:
        """Run one engine operation: commit, apply, announce. Raises the engine's errors untouched.

        `idempotency` names the (device, key, day, ticket, request) row stored in the same
        transaction as the change, so a retried request can never issue a second ticket.
        """
        with self.lock:
            now = self.clock()
            waits = [self._commit(self.engine.roll_day(now), now)]
            change = op(now)
            waits.append(self._commit(change, now, idempotency(change) if idempotency else None))
        for p in waits:
            if p is not None:
                p.wait()
        return change

    def tick(self) -> None:
        """Called every few seconds: closes the business day at local midnight."""
        with self.lock:
            now = self.clock()
            pending = self._commit(self.engine.roll_day(now), now)
        if pending is not None:
            pending.wait()

    def _commit(self, change: Change, now: datetime, idempotency: Idempotency | None = None) -> _Pending | None:
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
        if getattr(self, "_group", None) is None:
            self.store.commit(change, before, day, seq=seq_after, idempotency=idempotency)
            self.engine.apply(change)
            self._remember(idempotency, None)
            self._emit(self._messages(change, queue_changed, now))
            return None
        assert self._group is not None
        self.engine.apply(change)
        pending = _Pending(change, before, day, seq_after, idempotency, self._messages(change, queue_changed, now))
        self._remember(idempotency, pending)
        self._group.submit(pending)
        return pending

    def _remember(self, idempotency: Idempotency | None, pending: _Pending | None) -> None:
        if idempotency is not None and hasattr(self, "_idem"):
            device, key, day, tid, request = idempotency
            self._idem[(device, key, day)] = (tid, request, pending)

    def _messages(self, change: Change, queue_changed: bool, now: datetime) -> Messages:
        """The events of an applied change, stamped with their seq (in the order they must go out)."""
        out: Messages = []
        if change.business_date:
            self._recent.clear()  # numbers restart: yesterday's A001 must not look like today's
        for call in change.calls:
            self.seq += 1
            ticket = self.ticket_json(self.engine.state.tickets[call.ticket], now)
            data = protocol.call_json(self.seq, self.office, call.counter, ticket, call.recall, call.at)
            self._recent.insert(0, data)
            del self._recent[RECENT_CALLS:]
            out.append(("call", data))
        if queue_changed:
            self.seq += 1
            out.append(("queue", {"seq": self.seq, "services": self.services_json(now)}))
        for cid in change.counters:
            self.seq += 1
            out.append(("counter", {"seq": self.seq, "counter": self.counter_json(cid)}))
        return out

    def _emit(self, out: Messages) -> None:
        for name, data in out:
            for listener in list(self.listeners):
                try:
                    listener(name, data)
                except Exception:  # a socket or a log sink must never fail the request
                    log.exception("listener failed on %s", name)

    def _stored_counters(self) -> set[str]:
        return {r["id"] for r in self.store.db.query("SELECT id FROM counters")}

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
            out.append(protocol.call_json(seq, self.office, r["counter"], protocol.ticket_json(t, self.office),
                                          r["kind"] == "recalled", at))
        return out

    # -- the API's operations -----------------------------------------------------------------

    def issue(self, service: str, lane: str, device: str, key: str | None) -> tuple[dict[str, Any], bool]:
        """A new ticket, or with an Idempotency-Key already used today, the same one again."""
        request = json.dumps({"service": service, "lane": lane}, sort_keys=True)
        replay: list[tuple[str, _Pending | None]] = []

        def op(now: datetime) -> Change:
            day = self.engine.state.business_date
            seen = self._idem.get((device, key, day)) if key else None
            if seen is not None:
                if seen[1] != request:
                    raise WrongState(
                        "This Idempotency-Key was already used today for a different request. "
                        "同一個 Idempotency-Key 已用於另一筆取號。",
                        code="idempotency_key_reused",
                    )
                replay.append((seen[0], seen[2]))
                return Change()
            return self.engine.issue(service, lane, now, device)

        def remember(ch: Change) -> Idempotency | None:
            if not (key and ch.ticket):
                return None  # a replay: nothing new to remember
            return (device, key, self.engine.state.business_date, ch.ticket, request)

        change = self.run(op, remember if key else None)
        if replay:
            tid, pending = replay[0]
            if pending is not None:
                pending.wait()  # the first request's ticket is on disk before anyone is told of it
            return self.ticket_view(tid), False
        assert change.ticket
        return self.ticket_view(change.ticket), True

    def report_device(self, device_id: str, state: str, code: str, message: dict[str, str]) -> dict[str, Any]:
        """A device's own health (a kiosk's paper running low): kept, logged, and shown to staff.

        Sent as a `device` event without a `seq`: `seq` counts only call, queue and counter events.
        """
        with self.lock:
            now = self.clock()
            entry = {"id": device_id, "state": state, "code": code, "message": message,
                     "at": protocol.iso(now, self.office)}
            changed = self.devices.get(device_id, {}).get("code") != code
            self.devices[device_id] = entry
            if changed:
                self.store.add_event(Event(kind="device_status", at=now, business_date=self.engine.state.business_date,
                                           actor=device_id, outcome=code, detail={"state": state}))
        if changed:
            self._emit([("device", dict(entry))])
        return entry

    def _settle(self) -> None:
        """Reads show only what is on disk and announced: let the decided changes go out first."""
        group = getattr(self, "_group", None)
        if group is not None and group.emitted_seq < self.seq:
            group.settle(self.seq)

    def ticket_view(self, tid: str) -> dict[str, Any]:
        with self.lock:
            self.tick()
            self._settle()
            now = self.clock()
            t = self.engine.ticket(tid) or self.store.ticket(tid)
            if t is None:
                raise NotFound(f"No ticket '{tid}'. 查無此號碼牌。", code="unknown_ticket")
            return self.ticket_json(t, now)

    def ticket_json(self, t: Ticket, now: datetime) -> dict[str, Any]:
        est = self.estimates(now).tickets.get(t.id) if t.status == "waiting" else None
        return protocol.ticket_json(t, self.office, est)

    def estimates(self, now: datetime) -> Estimates:
        return self.engine.estimates(now)

    def services_json(self, now: datetime | None = None) -> list[dict[str, Any]]:
        now = now or self.clock()
        with self.lock:
            open_services = {s.id for s in self.office.services if self.engine.service_open(s.id)}
            return protocol.services_json(
                self.office, self.engine.waiting_counts(), self.estimates(now), open_services
            )

    def counter_json(self, cid: str) -> dict[str, Any]:
        state = self.engine.state
        return protocol.counter_json(cid, state.counters[cid], self.office, state.tickets)

    def state_json(self) -> dict[str, Any]:
        with self.lock:
            self.tick()  # after midnight, never show yesterday's queue
            self._settle()
            now = self.clock()
            return {
                "seq": self.seq,
                "counters": [self.counter_json(c.id) for c in self.office.counters],
                "recent_calls": list(self._recent),
                "services": self.services_json(now),
                "business_date": self.engine.state.business_date,
                "office": {
                    "name": self.office.name.as_json(),
                    "timezone": self.office.timezone,
                    "public_url": self.office.public_url or None,
                    "ticket_footer": self.office.ticket_footer.as_json() if self.office.ticket_footer else None,
                },
                "announcements": [a.as_json() for a in self.office.announcements],
                "devices": [dict(d) for d in self.devices.values()],
            }
