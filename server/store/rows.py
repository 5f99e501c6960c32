"""Rows to engine objects and back: how a Ticket is kept in the `tickets` table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..engine.model import Appointment, AppointmentRef, BookingStatus, Status, Ticket


def ts(d: datetime | None) -> str | None:
    return d.isoformat(timespec="milliseconds") if d else None


def dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def ticket_row(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id, "business_date": t.business_date, "service": t.service, "lane": t.lane,
        "number": t.number, "n": t.n, "status": str(t.status), "issued_at": ts(t.issued_at),
        "ord": t.order, "called_at": ts(t.called_at), "started_at": ts(t.started_at),
        "finished_at": ts(t.finished_at), "counter": t.counter, "outcome": t.outcome,
        "device": t.device, "walk_in": int(t.walk_in), "transferred_from": t.transferred_from,
        "appointment_code": t.appointment.code if t.appointment else None,
        "appointment_slot": ts(t.appointment.slot) if t.appointment else None,
    }


def ticket_from_row(r: dict[str, Any]) -> Ticket:
    issued = dt(r["issued_at"])
    assert issued is not None
    return Ticket(
        id=r["id"], business_date=r["business_date"], service=r["service"], lane=r["lane"],
        number=r["number"], n=r["n"], status=Status(r["status"]), issued_at=issued, order=r["ord"],
        called_at=dt(r["called_at"]), started_at=dt(r["started_at"]), finished_at=dt(r["finished_at"]),
        counter=r["counter"], outcome=r["outcome"], device=r["device"], walk_in=bool(r["walk_in"]),
        transferred_from=r["transferred_from"],
        appointment=_ref(r.get("appointment_code"), r.get("appointment_slot")),
    )


def _ref(code: str | None, slot: str | None) -> AppointmentRef | None:
    at = dt(slot)
    return AppointmentRef(code, at) if code and at else None


def appointment_row(b: Appointment) -> dict[str, Any]:
    return {
        "code": b.code, "business_date": b.business_date, "service": b.service, "slot": ts(b.slot),
        "status": str(b.status), "ticket": b.ticket, "checked_in_at": ts(b.checked_in_at),
        "booked_at": ts(b.booked_at), "source": b.source,
    }


def appointment_from_row(r: dict[str, Any]) -> Appointment:
    slot = dt(r["slot"])
    assert slot is not None
    return Appointment(
        code=r["code"], service=r["service"], slot=slot, business_date=r["business_date"],
        status=BookingStatus(r["status"]), ticket=r["ticket"], checked_in_at=dt(r["checked_in_at"]),
        booked_at=dt(r["booked_at"]), source=r["source"],
    )


def insert_sql(table: str, row: dict[str, Any]) -> str:
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"
