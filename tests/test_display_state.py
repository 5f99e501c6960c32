"""The board's state is a pure reducer over state/call/queue/counter events: no screen, no socket."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from display.state import (
    MISSED_CALL_MAX_AGE_S,
    Announce,
    BoardState,
    Resync,
    initial,
    reduce,
)

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC).timestamp()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def ticket(number: str, *, private: bool = False, priority: bool = False, status: str = "called",
           by_appointment: bool = False) -> dict[str, Any]:
    return {
        **({"by_appointment": True} if by_appointment else {}),
        "id": f"id-{number}", "number": number, "service": "private" if private else "general", "lane": "normal",
        "status": status, "issued_at": iso(T0), "called_at": iso(T0), "counter": "3", "ahead": None,
        "estimated_wait_s": None,
        "service_name": {"zh-TW": "專屬服務", "en": "Personal service"} if private else
        {"zh-TW": "綜合業務", "en": "General registration"},
        "lane_name": {"zh-TW": "樂齡", "en": "Seniors 65+"} if priority else {"zh-TW": "一般", "en": "Normal"},
        "priority": priority, "private": private,
    }


def call(seq: int, number: str, counter: str = "3", *, recall: bool = False, at: float = T0, **kw: Any) -> dict:
    return {"seq": seq, "counter": {"id": counter, "name": {"zh-TW": f"{counter}號櫃台", "en": f"Counter {counter}"}},
            "ticket": ticket(number, **kw), "recall": recall, "at": iso(at)}


def counter_ev(seq: int, cid: str, number: str | None, open_: bool = True) -> dict:
    return {"seq": seq, "counter": {"id": cid, "name": {"zh-TW": f"{cid}號櫃台", "en": f"Counter {cid}"},
                                    "open": open_, "ticket": ticket(number) if number else None}}


def queue_ev(seq: int, waiting: int) -> dict:
    return {"seq": seq, "services": [{"id": "general", "name": {"zh-TW": "綜合業務", "en": "General"},
                                      "waiting": waiting, "estimated_wait_s": 300, "open": True}]}


def snapshot(seq: int, recent: list[dict] | None = None, counters: dict[str, str | None] | None = None) -> dict:
    counters = counters if counters is not None else {"3": None, "4": None}
    return {
        "seq": seq,
        "counters": [counter_ev(0, cid, n)["counter"] for cid, n in counters.items()],
        "recent_calls": list(reversed(sorted(recent or [], key=lambda c: c["seq"]))),
        "services": queue_ev(0, 2)["services"],
        "business_date": "2026-11-23",
        "office": {"name": {"zh-TW": "南屯戶政", "en": "Nantun"}, "timezone": "Asia/Taipei"},
        "announcements": [{"zh-TW": "防詐騙", "en": "Fraud alert"}],
    }


def run(events: list[tuple[str, Any]], state: BoardState | None = None, now: float = T0 + 1
        ) -> tuple[BoardState, list[Any]]:
    s = state or initial(T0)
    effects: list[Any] = []
    for name, data in events:
        s, eff = reduce(s, name, data, now=now)
        effects += eff
    return s, effects


def spoken(effects: list[Any]) -> list[tuple[int, str]]:
    return [(e.call.seq, e.call.number) for e in effects if isinstance(e, Announce)]


# -- snapshots and events in order ---------------------------------------------------------------


def test_first_snapshot_shows_the_picture_and_speaks_nothing_old() -> None:
    s, eff = run([("state", snapshot(5, [call(4, "A001"), call(5, "A002", "4")], {"3": "A001", "4": "A002"}))])
    assert s.seq == 5 and s.announced_seq == 5
    assert s.office.zh == "南屯戶政" and s.business_date == "2026-11-23"
    assert s.hero and s.hero.number == "A002" and s.hero_at is None  # from a snapshot: no flash
    assert [c.number for c in s.recent] == ["A002", "A001"]
    assert {c.id: c.number for c in s.counters} == {"3": "A001", "4": "A002"}
    assert s.announcements[0].en == "Fraud alert"
    assert spoken(eff) == []


def test_events_in_order_are_applied_and_calls_announced() -> None:
    s, eff = run([("state", snapshot(10)), ("call", call(11, "A001")), ("queue", queue_ev(12, 1)),
                  ("counter", counter_ev(13, "3", "A001")), ("call", call(14, "A002", "4"))], now=T0 + 5)
    assert s.seq == 14
    assert spoken(eff) == [(11, "A001"), (14, "A002")]
    assert s.hero and s.hero.number == "A002" and s.hero_at == T0 + 5
    assert s.services[0].waiting == 1
    assert {c.id: c.number for c in s.counters} == {"3": "A001", "4": "A002"}
    assert not [e for e in eff if isinstance(e, Resync)]


def test_events_already_in_the_snapshot_are_ignored() -> None:
    s, eff = run([("state", snapshot(10, [call(10, "A009")])), ("call", call(9, "A008")), ("call", call(10, "A009"))])
    assert s.seq == 10 and spoken(eff) == []
    assert s.hero and s.hero.number == "A009"


def test_a_recall_is_announced_again_and_listed_once() -> None:
    s, eff = run([("state", snapshot(10)), ("call", call(11, "A001")), ("call", call(12, "A001", recall=True))])
    assert spoken(eff) == [(11, "A001"), (12, "A001")]
    assert [c.number for c in s.recent] == ["A001"]
    assert s.hero and s.hero.recall


def test_private_calls_keep_number_and_counter_only() -> None:
    s, _ = run([("state", snapshot(1)), ("call", call(2, "P001", "16", private=True, priority=True))])
    assert s.hero and s.hero.number == "P001" and s.hero.counter_name.zh == "16號櫃台"
    assert s.hero.service_name is None and s.hero.lane_name is None
    s2, _ = run([("state", snapshot(1)), ("call", call(2, "A005", priority=True))])
    assert s2.hero and s2.hero.lane_name and s2.hero.lane_name.zh == "樂齡"


def test_closed_counter_and_walk_in() -> None:
    s, _ = run([("state", snapshot(1)), ("counter", counter_ev(2, "4", None, open_=False))])
    four = next(c for c in s.counters if c.id == "4")
    assert not four.open and four.number is None


# -- gaps ------------------------------------------------------------------------------------------


def test_a_gap_holds_events_asks_for_a_resync_and_replays_in_order() -> None:
    s, eff = run([("state", snapshot(10)), ("call", call(11, "A001")), ("call", call(14, "A004"))])
    assert s.resyncing and s.seq == 11
    assert spoken(eff) == [(11, "A001")]
    assert [e.reason for e in eff if isinstance(e, Resync)] == ["gap: 11 -> 14"]
    # More events during the resync wait too; nothing is spoken out of order.
    s, eff = run([("call", call(15, "A005"))], s)
    assert eff == [] and s.resyncing
    # The snapshot (taken at 13) reveals the two missed calls; 14 and 15 are replayed on top.
    s, eff = run([("state", snapshot(13, [call(11, "A001"), call(12, "A002"), call(13, "A003")]))], s)
    assert not s.resyncing and s.seq == 15
    assert spoken(eff) == [(12, "A002"), (13, "A003"), (14, "A004"), (15, "A005")]
    assert s.hero and s.hero.number == "A005"


def test_snapshot_newer_than_held_events_drops_them() -> None:
    s, _ = run([("state", snapshot(10)), ("call", call(12, "A002"))])
    s, eff = run([("state", snapshot(12, [call(11, "A001"), call(12, "A002")]))], s)
    assert s.seq == 12 and spoken(eff) == [(11, "A001"), (12, "A002")]


def test_a_late_older_snapshot_does_not_turn_the_board_back() -> None:
    s, _ = run([("state", snapshot(10)), ("call", call(11, "A001"))])
    s2, eff = run([("state", snapshot(10))], s)
    assert s2 == s and eff == []


def test_events_before_the_first_snapshot_wait_for_it() -> None:
    s, eff = run([("call", call(6, "A006"))])
    assert s.seq is None and [type(e) for e in eff] == [Resync]
    s, eff = run([("state", snapshot(5))], s)
    assert s.seq == 6 and spoken(eff) == [(6, "A006")]


# -- the link --------------------------------------------------------------------------------------


def test_reconnect_speaks_recent_missed_calls_but_not_old_ones() -> None:
    s, _ = run([("state", snapshot(10)), ("link_up", {})])
    s, _ = run([("link_down", {"reason": "transport error"})], s, now=T0 + 100)
    assert not s.connected and s.offline_since == T0 + 100 and s.resyncing
    assert s.offline_for(T0 + 112) == 12
    old = call(11, "A001", at=T0 + 101)
    fresh = call(12, "A002", at=T0 + 150)
    later = T0 + 101 + MISSED_CALL_MAX_AGE_S + 5
    # As measured, `state` can arrive before the client's connect handler runs.
    s, eff = run([("state", snapshot(12, [old, fresh])), ("link_up", {})], s, now=later)
    assert s.connected and s.seq == 12 and s.offline_for(later) == 0
    assert spoken(eff) == [(12, "A002")]  # A001 was called over a minute ago: shown, not spoken
    assert [e.reason for e in eff if isinstance(e, Resync)] == ["reconnected"]


def test_the_same_snapshot_twice_after_reconnect_speaks_once() -> None:
    s, _ = run([("state", snapshot(10)), ("link_down", {}), ("link_up", {})])
    snap = snapshot(11, [call(11, "A001")])
    s, eff = run([("state", snap), ("state", snap)], s)
    assert spoken(eff) == [(11, "A001")]


def test_a_hub_with_a_fresh_database_is_followed_down() -> None:
    s, _ = run([("state", snapshot(500)), ("link_down", {})])
    s, eff = run([("state", snapshot(3, [call(3, "A001")])), ("call", call(4, "A002"))], s)
    assert s.seq == 4 and spoken(eff) == [(4, "A002")]


def test_not_connected_counts_from_start_until_the_first_snapshot() -> None:
    s = initial(T0)
    assert s.offline_for(T0 + 11) == 11
    s, _ = run([("link_up", {})], s)
    assert s.offline_for(T0 + 11) == 11  # connected but nothing to show yet is still not current
    s, _ = run([("state", snapshot(1))], s)
    assert s.offline_for(T0 + 11) == 0
    s, _ = run([("link_error", {"message": "unauthorized"})], s)
    assert s.link_error == "unauthorized"


def test_unknown_and_malformed_events_never_break_the_board() -> None:
    s0, _ = run([("state", snapshot(10))])
    s, eff = run([("hello", {"seq": 11}), ("call", None), ("call", {"seq": "x"})], s0)
    assert s == s0 and eff == []
    s, eff = run([("call", {"seq": 11, "ticket": None})], s0)
    assert s.seq == 11 and s.resyncing and [type(e) for e in eff] == [Resync]
    s, eff = run([("state", {"seq": 12, "counters": "nope"})], s0)
    assert s == s0 and [type(e) for e in eff] == [Resync]


# -- a property: whatever arrives, announcements go out in seq order, each at most once ------------


@settings(max_examples=150, deadline=None)
@given(order=st.permutations(list(range(11, 21))), drops=st.sets(st.integers(11, 20), max_size=4),
       dup=st.lists(st.integers(11, 20), max_size=5), snap_at=st.integers(0, 12))
def test_announcements_are_ordered_and_never_repeated(order: list[int], drops: set[int], dup: list[int],
                                                      snap_at: int) -> None:
    calls = {n: call(n, f"A{n:03d}") for n in range(11, 21)}
    arriving = [n for n in order if n not in drops] + dup
    s, eff = run([("state", snapshot(10))])
    for i, n in enumerate(arriving):
        s, e = reduce(s, "call", calls[n], now=T0 + 1)
        eff += e
        if i == snap_at:  # a snapshot at some point, as a resync GET would bring
            s, e = reduce(s, "state", snapshot(20, list(calls.values())), now=T0 + 1)
            eff += e
    s, e = reduce(s, "state", snapshot(20, list(calls.values())), now=T0 + 1)
    eff += e
    seqs = [q for q, _ in spoken(eff)]
    assert seqs == sorted(set(seqs))
    assert seqs == list(range(11, 21))  # and nothing recent is skipped
    assert s.seq == 20 and not s.resyncing


# -- announcements (issue 9): the marquee follows the hub's active set -----------------------------


def announcement(aid: str, zh: str, en: str, active: bool = True) -> dict[str, Any]:
    return {"id": aid, "text": {"zh-TW": zh, "en": en}, "starts_at": None, "ends_at": None, "active": active}


def test_the_announcements_event_replaces_the_set_and_drops_inactive_ones() -> None:
    s, _ = run([("state", snapshot(5))])
    assert [a.en for a in s.announcements] == ["Fraud alert"]
    s, eff = run([("announcements", {"announcements": [announcement("a1", "新法令", "New rules"),
                                                       announcement("a2", "停用", "Off", active=False),
                                                       announcement("a3", "防詐騙", "Fraud alert")]})], s)
    assert [a.en for a in s.announcements] == ["New rules", "Fraud alert"]
    assert eff == [] and s.seq == 5  # no seq: it neither counts nor opens a gap
    s, _ = run([("announcements", {"announcements": []})], s)
    assert s.announcements == ()


def test_a_snapshot_carries_announcement_objects_and_a_malformed_event_keeps_the_set() -> None:
    snap = snapshot(5)
    snap["announcements"] = [announcement("a1", "新法令", "New rules"), announcement("a2", "舊", "Old", active=False)]
    s, _ = run([("state", snap)])
    assert [a.zh for a in s.announcements] == ["新法令"]
    for bad in (None, [], {"announcements": "x"}, {"nothing": 1}):
        s2, eff = run([("announcements", bad)], s)
        assert s2.announcements == s.announcements and eff == []
    # Ones the board cannot read are left out, the others shown.
    s3, _ = run([("announcements", {"announcements": [7, announcement("b", "好", "Good"), {"text": None}]})], s)
    assert [a.en for a in s3.announcements] == ["Good"]


def test_announcements_before_the_first_snapshot_are_kept_until_it_replaces_them() -> None:
    s, eff = run([("announcements", {"announcements": [announcement("a1", "新法令", "New rules")]})])
    assert [a.en for a in s.announcements] == ["New rules"] and eff == []
    s, _ = run([("state", snapshot(5))], s)
    assert [a.en for a in s.announcements] == ["Fraud alert"]  # the snapshot is the newer whole picture
