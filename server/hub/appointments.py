"""Appointments (網路預約報到, CONTRACT.md "Appointments"): import, check-in, what the console and status
page show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import protocol
from ..engine.model import Appointment, Change
from .core import HubCore


class Appointments(HubCore):
    """This area of the façade (see the module's docstring); its state is loaded with the hub's."""

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



