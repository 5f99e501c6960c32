"""Who is called next: DESIGN.md's rules as a table of cases, each run on the pure engine."""

from __future__ import annotations

import pytest
from engine_helpers import Driver, small_office

# Each case: policy, then the tickets issued one minute apart as "lane" or "service:lane",
# then the numbers counter 1 calls, in order.
CASES = [
    ("strict: issue order within a lane", dict(mode="strict"), ["normal", "normal", "normal"],
     ["A001", "A002", "A003"]),
    ("strict: priority first", dict(mode="strict"), ["normal", "elderly", "normal", "elderly"],
     ["A002", "A004", "A001", "A003"]),
    ("strict: higher weight first", dict(mode="strict"), ["elderly", "disability", "normal"],
     ["A002", "A001", "A003"]),
    ("interleave run 2: a normal after two priority calls", dict(mode="interleave", priority_run=2),
     ["normal", "elderly", "elderly", "elderly", "normal"], ["A002", "A003", "A001", "A004", "A005"]),
    ("interleave run 1: alternate", dict(mode="interleave", priority_run=1),
     ["normal", "normal", "elderly", "elderly"], ["A003", "A001", "A004", "A002"]),
    ("interleave: priorities continue when no normal waits", dict(mode="interleave", priority_run=1),
     ["elderly", "elderly", "elderly"], ["A001", "A002", "A003"]),
    ("strict across services: issue order", dict(mode="strict"), ["quick:normal", "general:normal", "quick:normal"],
     ["B001", "A001", "B002"]),
]


@pytest.mark.parametrize("name,policy,issued,expected", CASES, ids=[c[0] for c in CASES])
def test_policy_order(name, policy, issued, expected):
    d = Driver(small_office(**policy))
    for spec in issued:
        service, _, lane = spec.rpartition(":")
        d.issue(service or "general", lane)
        d.tick(minutes=1)
    called = []
    while (t := d.next("1")) is not None:
        called.append(t.number)
    assert called == expected


def test_max_wait_calls_the_longest_waiting_first():
    d = Driver(small_office(mode="strict", max_wait=30))
    old = d.issue("general", "normal")
    d.tick(minutes=31)
    d.issue("general", "elderly")
    assert d.next("1").id == old.id


def test_max_wait_not_reached_keeps_strict_order():
    d = Driver(small_office(mode="strict", max_wait=30))
    d.issue("general", "normal")
    d.tick(minutes=29)
    prio = d.issue("general", "elderly")
    assert d.next("1").id == prio.id


def test_counter_calls_only_its_services_and_lanes():
    office = small_office(counters=[
        {"id": "1", "name": "1", "services": ["quick"]},
        {"id": "9", "name": "愛心", "services": ["general"], "lanes": ["elderly", "disability"]},
    ])
    d = Driver(office)
    d.issue("general", "normal")
    q = d.issue("quick", "normal")
    e = d.issue("general", "elderly")
    assert d.next("9").id == e.id
    assert d.next("9") is None  # the normal general ticket is not for the 愛心 counter
    assert d.next("1").id == q.id
    assert d.next("1") is None


def test_interleave_streak_is_per_counter():
    office = small_office(mode="interleave", priority_run=1, counters=[
        {"id": "1", "name": "1", "services": ["general"]}, {"id": "2", "name": "2", "services": ["general"]}])
    d = Driver(office)
    n1 = d.issue("general", "normal")
    p1 = d.issue("general", "elderly")
    p2 = d.issue("general", "elderly")
    assert d.next("1").id == p1.id
    # Counter 2 has made no priority call yet, so strict order holds for it.
    assert d.next("2").id == p2.id
    assert d.next("1").id == n1.id


def test_transfer_keeps_original_place():
    d = Driver(small_office())
    first = d.issue("general")
    d.tick(minutes=1)
    later_quick = d.issue("quick")
    assert d.next("1").id == first.id
    d.transfer("1", "quick")
    moved = d.engine.state.tickets[first.id]
    assert moved.status == "waiting" and moved.service == "quick" and moved.number == "A001"
    # Issued before the quick ticket, so it is called before it.
    assert d.next("2").id == first.id
    assert d.next("2").id == later_quick.id
