"""The wire shapes (server/wire/shapes.py) built from engine objects: the only place that knows both.

`ticket()`, `counter()`, `services()`, `call()` and `state()` return the shapes; the `*_json`
functions are their JSON, which the API answers and the hub emits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .engine.estimate import Estimate, Estimates
from .engine.model import Appointment, CounterState, Status
from .engine.model import Ticket as EngineTicket
from .engine.office import Office
from .wire import shapes


def iso(d: datetime | None, office: Office) -> str | None:
    return d.astimezone(office.tz).isoformat(timespec="seconds") if d else None


def ticket(t: EngineTicket, office: Office, est: Estimate | None = None, *, with_code: bool = False) -> shapes.Ticket:
    """A Ticket. `with_code`: an appointment ticket's `"appointment": {"code", "slot"}`, for the device that
    asked; boards, broadcasts and public pages get only `by_appointment` (a booking code is never shown
    there). The key is left out, not null, on every other ticket (CONTRACT.md: "no `appointment` field")."""
    service = office.service(t.service)
    lane = office.lane(t.lane)
    waiting = t.status == Status.WAITING
    rng = est.range_s() if (waiting and est) else None
    return shapes.Ticket(
        id=t.id,
        number=t.number,
        service=t.service,
        lane=t.lane,
        status=str(t.status),
        issued_at=iso(t.issued_at, office),
        called_at=iso(t.called_at, office),
        counter=t.counter,
        ahead=est.ahead if (waiting and est) else None,
        estimated_wait_s=est.wait_s if (waiting and est) else None,
        estimated_wait_range_s=rng or None,
        service_name=service.shown_name() if service else None,
        lane_name=lane.name if lane else None,
        priority=bool(lane and lane.weight > 0),
        private=bool(service and service.private),
        walk_in=t.walk_in,
        business_date=t.business_date,
        finished_at=iso(t.finished_at, office),
        outcome=t.outcome,
        by_appointment=t.appointment is not None,
        extra={"appointment": {"code": t.appointment.code, "slot": iso(t.appointment.slot, office)}}
        if with_code and t.appointment else {},
    )


def appointment_json(b: Appointment, office: Office) -> dict[str, Any]:
    return {
        "code": b.code, "service": b.service, "slot": iso(b.slot, office), "status": str(b.status),
        "ticket": b.ticket, "checked_in_at": iso(b.checked_in_at, office),
    }


def ticket_json(t: EngineTicket, office: Office, est: Estimate | None = None) -> dict[str, Any]:
    return ticket(t, office, est).to_json()


def counter(cid: str, state: CounterState, office: Office, tickets: dict[str, EngineTicket]) -> shapes.Counter:
    c = office.counter(cid)
    assert c is not None
    t = tickets.get(state.ticket) if state.ticket else None
    return shapes.Counter(
        id=cid, name=c.name, open=state.open, ticket=ticket(t, office) if t else None, services=c.services
    )


def counter_json(
    cid: str, state: CounterState, office: Office, tickets: dict[str, EngineTicket]
) -> dict[str, Any]:
    return counter(cid, state, office, tickets).to_json()


def services(
    office: Office, waiting: dict[str, int], est: Estimates, open_services: set[str],
    appointments_only: set[str] | frozenset[str] = frozenset(),
) -> list[shapes.Service]:
    out = []
    for s in office.services:
        probe = est.service(s.id)
        is_open = s.id in open_services
        out.append(shapes.Service(
            id=s.id,
            name=s.shown_name(),
            waiting=waiting.get(s.id, 0),
            estimated_wait_s=probe.wait_s if is_open else None,
            open=is_open,
            estimated_wait_range_s=(probe.range_s() or None) if is_open else None,
            prefix=s.prefix,
            # A session that takes only booked appointments: the kiosk offers only check-in.
            appointments_only=s.id in appointments_only,
        ))
    return out


def services_json(
    office: Office, waiting: dict[str, int], est: Estimates, open_services: set[str],
    appointments_only: set[str] | frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    return [s.to_json() for s in services(office, waiting, est, open_services, appointments_only)]


def call(
    seq: int, office: Office, cid: str, t: shapes.Ticket | dict[str, Any], recall: bool, at: datetime
) -> shapes.Call:
    """A Call; `t` may be the Ticket JSON already built for it (read back losslessly, unknown keys kept)."""
    c = office.counter(cid)
    assert c is not None
    return shapes.Call(
        seq=seq,
        counter=shapes.CounterRef(cid, c.name),
        ticket=t if isinstance(t, shapes.Ticket) else shapes.Ticket.from_json(t),
        recall=recall,
        at=iso(at, office),
    )


def call_json(
    seq: int, office: Office, cid: str, t: shapes.Ticket | dict[str, Any], recall: bool, at: datetime
) -> dict[str, Any]:
    return call(seq, office, cid, t, recall, at).to_json()



def office_info(office: Office) -> shapes.OfficeInfo:
    """`state.office`."""
    return shapes.OfficeInfo(name=office.name, timezone=office.timezone, public_url=office.public_url or None,
                             ticket_footer=office.ticket_footer)


def sample_ticket(office: Office, service_id: str, lane_id: str, number: str | None = None) -> shapes.Ticket:
    """A made-up waiting ticket of a service and lane (`jiaohao kiosk preview`), as the hub would send it."""
    service = office.service(service_id) or office.services[0]
    lane = office.lane(lane_id) or office.lanes[0]
    return shapes.Ticket(
        id="PREVIEW", number=number or service.number(min(service.last, max(service.first, 23))),
        service=service.id, lane=lane.id, status="waiting", issued_at=None, called_at=None, counter=None,
        ahead=None, estimated_wait_s=None, service_name=service.shown_name(), lane_name=lane.name,
        priority=lane.weight > 0, private=service.private,
    )
