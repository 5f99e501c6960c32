"""The hub: one lock, the engine, the store, and the listeners that announce what happened.

Order for every change (DESIGN.md): the engine builds a Change; the store commits it; the engine
applies it; then, still under the lock so that `seq` order is emit order, the listeners get the
`call`, `queue` and `counter` events. A failing listener is logged and never fails the request.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from . import protocol
from .engine.errors import NotFound, WrongState
from .engine.estimate import Estimates
from .engine.model import Change, Ticket
from .engine.office import Office
from .engine.queue import QueueEngine, new_ticket_id
from .store import Store

log = logging.getLogger("jiaohao.hub")

Listener = Callable[[str, dict[str, Any]], None]
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
        self._recent: list[dict[str, Any]] = self._load_recent_calls()
        with self.lock:
            self._commit(self.engine.roll_day(now), now)
            # Counters that the office file added since the last run are stored once.
            missing = [c for c in self.engine.state.counters.values() if c.id not in self._stored_counters()]
            if missing:
                self._commit(Change(counters={c.id: c for c in missing}), now)

    # -- running operations -------------------------------------------------------------------

    def run(
        self,
        op: Callable[[datetime], Change],
        idempotency: Callable[[Change], tuple[str, str, str, str, str]] | None = None,
    ) -> Change:
        """Run one engine operation: commit, apply, announce. Raises the engine's errors untouched.

        `idempotency` names the (device, key, day, ticket, request) row stored in the same
        transaction as the change, so a retried request can never issue a second ticket.
        """
        with self.lock:
            now = self.clock()
            self._commit(self.engine.roll_day(now), now)
            change = op(now)
            self._commit(change, now, idempotency(change) if idempotency else None)
            return change

    def tick(self) -> None:
        """Called every few seconds: closes the business day at local midnight."""
        with self.lock:
            now = self.clock()
            self._commit(self.engine.roll_day(now), now)

    def _commit(
        self, change: Change, now: datetime, idempotency: tuple[str, str, str, str, str] | None = None
    ) -> None:
        if change.empty and idempotency is None:
            return
        state = self.engine.state
        before = {tid: state.tickets[tid] for tid in change.tickets if tid in state.tickets}
        queue_changed = change.queue_changed(before)
        names = ["call"] * len(change.calls) + ["queue"] * queue_changed + ["counter"] * len(change.counters)
        # Each call's seq goes into its log row, so the recent calls keep it across a restart.
        call_events = [e for e in change.events if e.kind in ("called", "recalled")]
        for k, e in enumerate(call_events):
            e.detail["seq"] = self.seq + 1 + k
        self.store.commit(change, before, state.business_date, seq=self.seq + len(names), idempotency=idempotency)
        self.engine.apply(change)
        self._announce(change, queue_changed, now)

    def _announce(self, change: Change, queue_changed: bool, now: datetime) -> None:
        out: list[tuple[str, dict[str, Any]]] = []
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
            at = datetime.fromisoformat(r["at"])
            seq = int(json.loads(r["detail"] or "{}").get("seq", 0))
            out.append(protocol.call_json(seq, self.office, r["counter"], protocol.ticket_json(t, self.office),
                                          r["kind"] == "recalled", at))
        return out

    # -- the API's operations -----------------------------------------------------------------

    def issue(self, service: str, lane: str, device: str, key: str | None) -> tuple[dict[str, Any], bool]:
        """A new ticket, or with an Idempotency-Key already used today, the same one again."""
        request = json.dumps({"service": service, "lane": lane}, sort_keys=True)
        with self.lock:
            now = self.clock()
            day = self.engine.business_date(now)
            if key:
                seen = self.store.idempotent(device, key, day)
                if seen:
                    if seen[1] != request:
                        raise WrongState(
                            "This Idempotency-Key was already used today for a different request. "
                            "同一個 Idempotency-Key 已用於另一筆取號。",
                            code="idempotency_key_reused",
                        )
                    return self.ticket_view(seen[0]), False
            change = self.run(
                lambda t: self.engine.issue(service, lane, t, device),
                (lambda ch: (device, key, self.engine.state.business_date, ch.ticket or "", request))
                if key
                else None,
            )
            assert change.ticket
            return self.ticket_view(change.ticket), True

    def ticket_view(self, tid: str) -> dict[str, Any]:
        with self.lock:
            self.tick()
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
            }
