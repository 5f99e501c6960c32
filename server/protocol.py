"""The wire shapes of CONTRACT.md (Ticket, Call, services, counters), as plain dicts.

Plain Python with no Flask import, so that tests, the kiosk and the board can use it too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .engine.estimate import Estimate, Estimates
from .engine.model import CounterState, Status, Ticket
from .engine.office import Office


def iso(d: datetime | None, office: Office) -> str | None:
    return d.astimezone(office.tz).isoformat(timespec="seconds") if d else None


def ticket_json(t: Ticket, office: Office, est: Estimate | None = None) -> dict[str, Any]:
    service = office.service(t.service)
    lane = office.lane(t.lane)
    waiting = t.status == Status.WAITING
    ahead = est.ahead if (waiting and est) else None
    wait = est.wait_s if (waiting and est) else None
    rng = est.range_s() if (waiting and est) else None
    return {
        "id": t.id,
        "number": t.number,
        "service": t.service,
        "lane": t.lane,
        "status": str(t.status),
        "issued_at": iso(t.issued_at, office),
        "called_at": iso(t.called_at, office),
        "counter": t.counter,
        "ahead": ahead,
        "estimated_wait_s": wait,
        # Extensions (CONTRACT.md allows adding fields).
        "estimated_wait_range_s": list(rng) if rng else None,
        "service_name": service.shown_name().as_json() if service else None,
        "lane_name": lane.name.as_json() if lane else None,
        "priority": bool(lane and lane.weight > 0),
        "private": bool(service and service.private),
        "walk_in": t.walk_in,
        "business_date": t.business_date,
        "finished_at": iso(t.finished_at, office),
        "outcome": t.outcome,
    }


def counter_json(
    cid: str, state: CounterState, office: Office, tickets: dict[str, Ticket]
) -> dict[str, Any]:
    counter = office.counter(cid)
    assert counter is not None
    t = tickets.get(state.ticket) if state.ticket else None
    return {
        "id": cid,
        "name": counter.name.as_json(),
        "open": state.open,
        "ticket": ticket_json(t, office) if t else None,
        "services": list(counter.services),
    }


def services_json(
    office: Office, waiting: dict[str, int], est: Estimates, open_services: set[str]
) -> list[dict[str, Any]]:
    out = []
    for s in office.services:
        probe = est.service(s.id)
        is_open = s.id in open_services
        wait = probe.wait_s if is_open else None
        rng = probe.range_s() if is_open else None
        out.append({
            "id": s.id,
            "name": s.shown_name().as_json(),
            "waiting": waiting.get(s.id, 0),
            "estimated_wait_s": wait,
            "open": is_open,
            "estimated_wait_range_s": list(rng) if rng else None,
            "prefix": s.prefix,
        })
    return out


def call_json(
    seq: int, office: Office, cid: str, ticket: dict[str, Any], recall: bool, at: datetime
) -> dict[str, Any]:
    counter = office.counter(cid)
    assert counter is not None
    return {
        "seq": seq,
        "counter": {"id": cid, "name": counter.name.as_json()},
        "ticket": ticket,
        "recall": recall,
        "at": iso(at, office),
    }
