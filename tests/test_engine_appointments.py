"""The pure engine's side of appointments: step 0 in the call and in the estimate, no-shows, served."""

from __future__ import annotations

from datetime import timedelta

import pytest
from engine_helpers import T0, Driver, small_office

from server.engine.model import Appointment, BookingStatus


def booking(code: str, minutes_after_t0: int, service: str = "general") -> Appointment:
    slot = T0 + timedelta(minutes=minutes_after_t0)
    return Appointment(code=code, service=service, slot=slot, business_date="2026-11-23")


def driver(*bookings: Appointment) -> Driver:
    d = Driver(small_office(max_wait=20))
    d.do(d.engine.book(list(enumerate(bookings, start=2)), d.now, "admin"))
    return d


def check_in(d: Driver, code: str) -> str:
    ch = d.do(d.engine.check_in(code, d.now, "k"))
    assert ch.ticket
    return ch.ticket


def test_step_zero_beats_priority_lanes_and_max_wait():
    d = driver(booking("A", 25), booking("B", 15))
    old = d.issue()                        # 09:00
    d.issue("general", "disability")       # weight 20
    d.tick(minutes=5)
    a, b = check_in(d, "A"), check_in(d, "B")   # 09:05, slots 09:25 and 09:15
    d.tick(minutes=21)                     # 09:26: both due; `old` has waited 26 minutes (max wait 20)
    assert d.next().id == b                # the earlier slot first
    assert d.next().id == a
    assert d.next().id == old.id           # then max_wait, as before


def test_before_its_slot_an_appointment_ticket_waits_like_one_issued_at_check_in():
    d = driver(booking("A", 20))
    first = d.issue()
    d.tick(minutes=1)
    a = check_in(d, "A")                   # 09:01, slot 09:20
    later = d.issue()
    assert d.next().id == first.id
    assert d.next().id == a                # in check-in order, ahead of `later`
    assert d.next().id == later.id


def test_too_early_issues_nothing():
    from server.engine.errors import WrongState

    d = driver(booking("A", 31))
    with pytest.raises(WrongState) as e:
        d.engine.check_in("A", d.now, "k")
    assert e.value.code == "too_early" and "09:01" in e.value.message
    assert d.engine.waiting() == []


@pytest.mark.parametrize("late", [0, 5])
def test_the_estimate_plays_step_zero_as_the_call_does(late):
    d = driver(booking("A", 10), booking("B", 10))
    d.tick(minutes=late)
    tickets = [d.issue() for _ in range(3)]
    ids = [check_in(d, "A"), check_in(d, "B")] + [t.id for t in tickets]
    est = d.engine.estimates(d.now).tickets
    predicted = sorted(ids, key=lambda tid: est[tid].ahead)
    called = []
    for _ in ids:  # the counter calls when the play says it is free: every 10 minutes (default_minutes)
        called.append(d.next("1").id)
        d.tick(minutes=10)
    assert called[0] == tickets[0].id           # 09:0x: no slot has come yet
    assert called[1:3] == ids[:2]               # 09:1x: both slots have come
    assert predicted == called


def test_no_show_at_slot_plus_late_and_served_when_finished():
    d = driver(booking("N", 0), booking("S", 0))
    check_in(d, "S")
    d.tick(minutes=15)
    assert d.roll().empty                  # 09:15 = slot + late_minutes: not yet
    d.tick(seconds=1)
    ch = d.roll()
    assert [e.kind for e in ch.events] == ["appointment_no_show"]
    assert d.engine.booking("N").status == BookingStatus.NO_SHOW
    d.next()
    d.finish("1")
    assert d.engine.booking("S").status == BookingStatus.SERVED
    # A no-show who comes after all gets an ordinary ticket; the booking says lapsed.
    tid = check_in(d, "N")
    assert d.engine.ticket(tid).appointment is None
    assert d.engine.booking("N").status == BookingStatus.LAPSED


def test_the_day_end_closes_yesterdays_bookings():
    d = driver(booking("Y", 8 * 60))      # 17:00
    d.tick(hours=16)                       # 01:00 the next day
    ch = d.roll()
    assert ch.business_date == "2026-11-24"
    assert [e.kind for e in ch.events if e.kind.startswith("appointment")] == ["appointment_no_show"]
    assert d.engine.booking("Y") is None   # earlier days are the store's only
