"""Ahead and estimated wait: the simulation under the real policy (DESIGN.md)."""

from __future__ import annotations

import pytest
from engine_helpers import Driver, small_office

from server.engine.estimate import Estimate

ONE_COUNTER = [{"id": "1", "name": "1", "services": ["general"]}]


def est(d: Driver):
    return d.engine.estimates(d.now)


def test_one_idle_counter_serves_in_order():
    d = Driver(small_office(counters=ONE_COUNTER))
    ts = [d.issue("general") for _ in range(3)]
    e = est(d)
    assert [e.tickets[t.id] for t in ts] == [Estimate(0, 0), Estimate(1, 600), Estimate(2, 1200)]
    assert e.service("general") == Estimate(3, 1800)  # a ticket taken now


def test_busy_counter_adds_the_rest_of_its_visit():
    d = Driver(small_office(counters=ONE_COUNTER))
    d.issue("general")
    d.next("1")
    d.tick(minutes=4)
    t = d.issue("general")
    assert est(d).tickets[t.id] == Estimate(0, 360)  # 10 min default, 4 gone


def test_overrunning_visit_still_counts_and_rounds_up():
    d = Driver(small_office(counters=ONE_COUNTER))
    d.issue("general")
    d.next("1")
    d.tick(minutes=30, seconds=1)
    t = d.issue("general")
    # A 10-minute visit (spread 0.5) that has lasted 30: half of such visits end within 3.5 minutes more.
    e = est(d).tickets[t.id]
    assert e == Estimate(0, 240) and 180 < e.raw_s < 240  # rounded up to whole minutes


def test_the_first_of_many_busy_clerks_is_free_soon():
    """Twelve clerks half-way through their visits: one of them is nearly always about to finish (issue #12)."""
    from server.engine.estimate import _first_free

    times = _first_free([(600.0, 300.0, 0.5, 300.0)] * 12)
    assert times == sorted(times) and times[0] < 60 < 300 < times[-1]  # not all at the 300 s left of each
    assert 200 < sum(times) / 12 < 400  # ... while together they still do the same work
    one = _first_free([(600.0, 0.0, 0.5, 600.0)])[0]
    assert 500 < one < 600  # a single visit: its median length, a little under its mean


def test_two_counters_share_the_line():
    office = small_office(counters=[{"id": "1", "name": "1", "services": ["general"]},
                                    {"id": "2", "name": "2", "services": ["general"]}])
    d = Driver(office)
    ts = [d.issue("general") for _ in range(4)]
    e = est(d)
    assert [e.tickets[t.id].wait_s for t in ts] == [0, 0, 600, 600]
    assert [e.tickets[t.id].ahead for t in ts] == [0, 1, 2, 3]


def test_priority_arrivals_move_a_normal_ticket_back():
    d = Driver(small_office(counters=ONE_COUNTER))
    n = d.issue("general")
    before = est(d).tickets[n.id]
    d.issue("general", "elderly")
    after = est(d).tickets[n.id]
    assert (before.ahead, after.ahead) == (0, 1)
    assert after.wait_s > before.wait_s


def test_no_open_counter_means_no_promise():
    d = Driver(small_office(counters=ONE_COUNTER))
    d.set_open("1", False)
    a, b = d.issue("general"), d.issue("general")
    e = est(d)
    assert e.tickets[a.id] == Estimate(0, None) and e.tickets[b.id] == Estimate(1, None)
    assert e.service("general").wait_s is None


def test_learned_handling_time_replaces_the_default():
    d = Driver(small_office(counters=ONE_COUNTER))
    d.issue("general")
    d.next("1")
    d.tick(minutes=2)
    d.finish("1")
    ts = [d.issue("general") for _ in range(2)]
    assert est(d).tickets[ts[1].id].wait_s == 120


def test_range_is_the_estimate_give_or_take_its_spread():
    # The default spread, 0.5 of a visit, x (0.8 + 0.2 / √(n + 1)) either side: the low end to the
    # nearest minute, the high one up.
    assert Estimate(0, 600).range_s() == (300, 900)
    assert Estimate(8, 2460, 2410.0, 0.2 / (0.8 + 0.2 / 3)).range_s() == (1920, 2940)  # ± 20 % with 8 ahead
    wide, narrow = Estimate(0, 1200, 1200.0, 0.4).range_s(), Estimate(24, 1200, 1200.0, 0.4).range_s()
    assert narrow[1] - narrow[0] < wide[1] - wide[0]  # a little narrower when many are ahead
    # Made from the play's time before rounding: 65 s is 1-2 min, not the 1-3 of 120 s rounded up first.
    assert Estimate(1, 120, 65.0).range_s() == (60, 120)
    assert Estimate(0, 60, 20.0).range_s() == (0, 60)
    low, high = Estimate(2, 180, 121.0, 0.1).range_s()
    assert low <= 121 and high >= 180  # it always holds the estimate itself
    assert Estimate(3, None).range_s() is None


def test_estimates_are_cached_until_a_change():
    d = Driver(small_office(counters=ONE_COUNTER))
    d.issue("general")
    first = est(d)
    assert est(d) is first
    d.issue("general")
    assert est(d) is not first


def test_costly_queue_places_new_tickets_by_queue_length_then_plays_again(monkeypatch):
    from server.engine.estimate import EstimateCache, simulate

    monkeypatch.setattr(EstimateCache, "COSTLY_WORK", 0)  # treat every play as costly
    office = small_office(counters=ONE_COUNTER)
    d = Driver(office)
    d.issue("general")
    base = est(d)
    new = [d.issue("general") for _ in range(3)]
    ext = est(d)
    assert ext is not base and ext.tickets.keys() >= {t.id for t in new}
    s = d.engine.state
    full = simulate(office, d.engine.waiting(), s.counters, s.tickets, s.stats, d.now)
    for t in new:  # one counter, one lane: the queue-length rule is exact
        assert ext.tickets[t.id] == full.tickets[t.id]
    assert ext.service("general") == full.service("general")
    d.next("1")  # any change but an issue plays again in full
    assert est(d).tickets == simulate(office, d.engine.waiting(), s.counters, s.tickets, s.stats, d.now).tickets


def _rush_estimates() -> tuple[list[tuple[dict, dict]], int]:
    """A morning rush on the demo office: every estimate the kiosk would print, ticket after ticket."""
    import random

    from server.config import load_office

    office = load_office(None)
    d = Driver(office)
    rng = random.Random(7)
    services = ["general", "quick", "certificate", "english", "private"]
    seen, extended = [], 0
    for i in range(120):
        d.tick(seconds=0.2)  # two kiosks busy: the queue-length rule has its chance
        d.issue(rng.choice(services), rng.choice(["normal"] * 6 + ["elderly", "disability"]))
        if i % 15 == 14:
            d.next(str(rng.randint(1, 16)))
        e = est(d)
        extended += e is not d.engine._estimates.base
        seen.append((dict(e.tickets), dict(e.probes)))
    return seen, extended


def test_estimates_do_not_depend_on_how_fast_the_machine_is(monkeypatch):
    """The same queue gets the same estimates on a fast machine and on a slow Pi (issue #8)."""
    import time

    monkeypatch.setattr(time, "perf_counter", lambda: 0.0)  # every play looks free
    fast, fast_ext = _rush_estimates()
    ticks = iter(range(0, 10**9, 5))
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(ticks)))  # every play looks 5 s long
    slow, slow_ext = _rush_estimates()
    assert len(fast) == len(slow) == 120
    assert fast_ext == slow_ext > 0  # both took the queue-length rule, at the same moments
    for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
        assert a == b, f"estimates differ after ticket {i + 1}"


def test_range_is_at_least_a_minute_wide():
    assert Estimate(0, 0).range_s() == (0, 60)  # a free counter: "within a minute", never "0 minutes"


def test_priority_tickets_of_the_last_hour_stretch_a_normal_wait():
    """Seniors who keep coming will be called first: the normal line's wait grows by 1 / (1 - rho)."""
    d = Driver(small_office(counters=ONE_COUNTER))
    ts = [d.issue("general") for _ in range(3)]
    plain = est(d).tickets[ts[2].id]
    assert plain == Estimate(2, 1200)
    # Three seniors in the last hour, served in 10 minutes each: 30 minutes of one counter's hour, rho = 0.5.
    for _ in range(3):
        d.issue("general", "elderly")
    for _ in range(3):
        d.next("1")
        d.tick(minutes=10)
    d.finish("1")
    t = d.issue("general")
    e = est(d)
    assert d.engine.mean_seconds("general") == 600
    assert e.tickets[t.id] == Estimate(3, 2 * 3 * 600)  # three normal tickets ahead, stretched by 1 / (1 - 0.5)
    d.tick(minutes=61)  # an hour after the seniors came, they no longer count
    assert est(d).tickets[t.id] == Estimate(3, 3 * 600)


def _serve(d: Driver, minutes: list[float]) -> None:
    for m in minutes:
        d.issue("general")
        d.next("1")
        d.start("1")
        d.tick(seconds=m * 60)
        d.finish("1")


def test_the_spread_of_visits_is_learned_and_sets_the_range():
    """Visits all alike give a narrow range; visits that vary widely, a wide one (issue #12)."""
    from server.engine.estimate import spread

    even, uneven = Driver(small_office(counters=ONE_COUNTER)), Driver(small_office(counters=ONE_COUNTER))
    _serve(even, [10] * 40)
    _serve(uneven, [4, 16] * 20)  # the same mean, 10 minutes, and a spread of 0.6
    assert even.engine.mean_seconds("general") == pytest.approx(uneven.engine.mean_seconds("general"), rel=0.05)
    assert spread(even.engine.state.stats, "general") == 0.2  # the least it is taken at
    assert 0.5 < spread(uneven.engine.state.stats, "general") < 0.7
    for d in (even, uneven):
        for _ in range(4):
            d.issue("general")
    narrow = est(even).service("general").range_s()
    wide = est(uneven).service("general").range_s()
    assert narrow[1] - narrow[0] < (wide[1] - wide[0]) / 2


def test_the_learned_spread_survives_a_restart(tmp_path):
    from server.store import Store

    store = Store(tmp_path / "j.db")
    try:
        d = Driver(small_office(counters=ONE_COUNTER))

        def stored(change):  # as the hub does: commit, then apply
            state = d.engine.state
            store.commit(change, {t: state.tickets[t] for t in change.tickets if t in state.tickets},
                         state.business_date, seq=0)
            d.engine.apply(change)
            return change

        d.do = stored  # type: ignore[method-assign]
        _serve(d, [4, 16] * 5)
        stat = d.engine.state.stats["general"]
        again = store.load("2026-11-23").stats["general"]
        assert again == stat and again.var_s2 is not None and again.var_s2 > 0
    finally:
        store.close()
