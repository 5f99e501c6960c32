"""A ticket's life, numbering and the business day (DESIGN.md), on the pure engine."""

from __future__ import annotations

import pytest
from engine_helpers import Driver, small_office

from server.engine.errors import Invalid, NotFound, WrongState


def test_numbers_are_prefix_and_zero_padded():
    d = Driver(small_office())
    assert [d.issue("general").number for _ in range(3)] == ["A001", "A002", "A003"]
    assert d.issue("quick").number == "B001"


def test_numbers_restart_at_local_midnight_and_waiting_tickets_close_with_day_end():
    d = Driver(small_office())
    called = d.issue("general")
    left = d.issue("general")
    assert d.next("1").id == called.id
    d.tick(hours=15, minutes=1)  # 00:01 the next day in Asia/Taipei
    ch = d.roll()
    assert ch.business_date == "2026-11-24"
    kinds = [e.kind for e in ch.events]
    assert kinds.count("day_end") == 2
    assert left.id not in d.engine.state.tickets  # kept in history (the store), not in today's queue
    closed = {t.id: t for t in ch.tickets.values()}
    assert closed[left.id].status == "cancelled" and closed[left.id].outcome == "day_end"
    assert closed[called.id].status == "no_show" and closed[called.id].outcome == "day_end"
    assert d.engine.state.counters["1"].ticket is None
    assert d.issue("general").number == "A001"
    assert d.next("1").number == "A001"  # yesterday's never called


def test_midnight_is_the_office_timezone_not_utc():
    d = Driver(small_office())
    d.issue("general")
    d.tick(hours=14)  # 23:00 in Taipei: still the same business day
    assert d.roll().empty


def test_number_is_never_reused_while_open_and_wraps():
    office = small_office(services=[{"id": "general", "name": "綜合", "prefix": "A", "first": 1, "last": 3}],
                          counters=[{"id": "1", "name": "1", "services": ["general"]}])
    d = Driver(office)
    a1, a2, a3 = (d.issue("general") for _ in range(3))
    with pytest.raises(WrongState) as e:
        d.issue("general")
    assert e.value.code == "numbers_exhausted"
    d.next("1")  # A001 called
    d.finish("1")  # A001 done: its number is free again
    assert d.issue("general").number == "A1"  # padded to the digits of `last`
    assert {a1.number, a2.number, a3.number} == {"A1", "A2", "A3"}


def test_life_called_serving_done_and_learned_time():
    d = Driver(small_office())
    t = d.issue("general")
    assert d.next("1").status == "called"
    d.tick(minutes=1)
    d.start("1")
    assert d.engine.state.tickets[t.id].status == "serving"
    d.tick(minutes=6)
    d.finish("1")
    done = d.engine.state.tickets[t.id]
    assert done.status == "done" and done.finished_at == d.now
    assert d.engine.state.stats["general"].mean_s == pytest.approx(360)


def test_next_finishes_previous_even_when_nothing_waits():
    d = Driver(small_office())
    t = d.issue("general")
    d.next("1")
    assert d.next("1") is None
    assert d.engine.state.tickets[t.id].status == "done"
    assert d.engine.state.counters["1"].ticket is None


def test_recall_keeps_called_and_announces_again():
    d = Driver(small_office())
    d.issue("general")
    d.next("1")
    ch = d.recall("1")
    assert [c.recall for c in ch.calls] == [True]
    assert not ch.tickets  # nothing about the ticket changed
    d.start("1")
    with pytest.raises(WrongState):
        d.recall("1")


def test_no_show_and_nothing_called_errors():
    d = Driver(small_office())
    with pytest.raises(WrongState) as e:
        d.finish("1")
    assert e.value.code == "nothing_called"
    t = d.issue("general")
    d.next("1")
    d.no_show("1")
    assert d.engine.state.tickets[t.id].status == "no_show"


def test_closed_counter_calls_nothing_but_keeps_its_ticket():
    d = Driver(small_office())
    t = d.issue("general")
    d.issue("general")
    d.next("1")
    d.set_open("1", False)
    with pytest.raises(WrongState) as e:
        d.next("1")
    assert e.value.code == "counter_closed"
    assert d.engine.state.counters["1"].ticket == t.id
    d.finish("1")
    assert d.engine.state.tickets[t.id].status == "done"


def test_cancel_only_waiting():
    d = Driver(small_office())
    t = d.issue("general")
    d.cancel(t.id)
    assert d.engine.state.tickets[t.id].status == "cancelled"
    u = d.issue("general")
    d.next("1")
    with pytest.raises(WrongState):
        d.cancel(u.id)
    with pytest.raises(NotFound):
        d.cancel("nope")


def test_walk_in_is_served_counted_and_never_announced():
    d = Driver(small_office())
    ch = d.walk_in("1", "general", "elderly")
    assert ch.calls == []
    t = d.engine.state.tickets[ch.ticket]
    assert t.status == "serving" and t.walk_in and t.counter == "1"
    assert [e.kind for e in ch.events] == ["walk_in"]
    d.tick(minutes=5)
    d.finish("1")
    assert d.engine.state.stats["general"].visits == 1


def test_unknown_service_and_lane_are_invalid():
    d = Driver(small_office())
    with pytest.raises(Invalid) as e:
        d.issue("nope")
    assert e.value.code == "unknown_service"
    with pytest.raises(Invalid) as e:
        d.issue("general", "vip")
    assert e.value.code == "unknown_lane"
    with pytest.raises(NotFound):
        d.next("77")


def test_every_transition_is_logged_with_actor_and_counter():
    d = Driver(small_office())
    issued = d.engine.issue("general", "normal", d.now, "kiosk-1")
    d.do(issued)
    called = d.do(d.engine.call_next("1", d.now, "counter-1"))
    e = called.events[-1]
    assert (e.kind, e.actor, e.counter, e.service, e.lane, e.open_counters) == (
        "called", "counter-1", "1", "general", "normal", 2)
    assert issued.events[0].kind == "issued" and issued.events[0].actor == "kiosk-1"


def test_an_operation_does_not_mutate_state_until_applied():
    d = Driver(small_office())
    before = dict(d.engine.state.tickets)
    change = d.engine.issue("general", "normal", d.now, "k")
    assert d.engine.state.tickets == before
    d.engine.apply(change)
    assert change.ticket in d.engine.state.tickets


def test_walk_in_cannot_be_transferred():
    d = Driver(small_office())
    d.walk_in("1", "general", "normal")
    with pytest.raises(WrongState) as e:
        d.transfer("1", "quick")
    assert e.value.code == "walk_in_not_transferable"
