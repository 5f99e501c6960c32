"""Properties of the engine under random days of work (hypothesis)."""

from __future__ import annotations

from collections import Counter

from engine_helpers import Driver, small_office
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.engine.errors import JiaohaoError
from server.engine.model import Status

LANES = ["normal", "elderly", "disability"]
op = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(["general", "quick"]), st.sampled_from(LANES)),
    st.tuples(st.just("next"), st.sampled_from(["1", "2"])),
    st.tuples(st.just("finish"), st.sampled_from(["1", "2"])),
    st.tuples(st.just("no_show"), st.sampled_from(["1", "2"])),
    st.tuples(st.just("transfer"), st.sampled_from(["1", "2"]), st.sampled_from(["general", "quick"])),
    st.tuples(st.just("toggle"), st.sampled_from(["1", "2"])),
    st.tuples(st.just("wait"), st.integers(1, 90)),
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(d: Driver, ops, on_call=None):
    calls: Counter[str] = Counter()
    for o in ops:
        try:
            if o[0] == "issue":
                d.issue(o[1], o[2])
            elif o[0] == "next":
                if on_call:
                    on_call(d, o[1])
                t = d.next(o[1])
                if t:
                    calls[t.id] += 1
            elif o[0] == "toggle":
                d.set_open(o[1], not d.engine.state.counters[o[1]].open)
            elif o[0] == "wait":
                d.tick(minutes=o[1])
                d.roll()
            elif o[0] == "transfer":
                d.transfer(o[1], o[2])
            else:
                getattr(d, o[0])(o[1])
        except JiaohaoError:
            pass  # refused operations change nothing: checked below by the invariants
        open_numbers = [t.number for t in d.engine.state.tickets.values() if t.is_open]
        assert len(open_numbers) == len(set(open_numbers)), "a shown number is held twice"
        # The engine's indexes agree with a scan of the whole day.
        scan = {t.id for t in d.engine.state.tickets.values() if t.status == Status.WAITING}
        assert {t.id for t in d.engine.waiting()} == scan
        by_service = {sid: 0 for sid in ("general", "quick")}
        for tid in scan:
            by_service[d.engine.state.tickets[tid].service] += 1
        assert d.engine.waiting_counts() == by_service
        assert set(d.engine._held) == {n for n in open_numbers if n}
        for cid, c in d.engine.state.counters.items():
            if c.ticket:
                t = d.engine.state.tickets[c.ticket]
                assert t.status in (Status.CALLED, Status.SERVING) and t.counter == cid
    return calls


@SETTINGS
@given(st.lists(op, max_size=60), st.sampled_from(["strict", "interleave"]), st.sampled_from([0, 45]))
def test_numbers_unique_and_no_ticket_called_twice(ops, mode, max_wait):
    d = Driver(small_office(mode=mode, max_wait=max_wait))
    calls = run(d, ops)
    # A ticket is called again only after it was transferred back to waiting.
    for tid, n in calls.items():
        t = d.engine.state.tickets.get(tid)
        if n > 1:
            assert t is not None and t.transferred_from is not None


@SETTINGS
@given(st.lists(op, max_size=60))
def test_strict_order_holds_at_every_call(ops):
    office = small_office(mode="strict")
    d = Driver(office)

    def check(d: Driver, cid: str) -> None:
        counter = office.counter(cid)
        if not d.engine.state.counters[cid].open:
            return
        eligible = [t for t in d.engine.state.tickets.values()
                    if t.status == Status.WAITING and t.service in counter.services]
        if not eligible:
            return
        best = min(eligible, key=lambda t: (-office.weight(t.lane), t.issued_at, t.order))
        picked = d.engine.pick(cid, d.now)
        assert picked is not None and picked.id == best.id

    run(d, ops, on_call=check)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.integers(0, 5),
       st.lists(st.sampled_from(["elderly", "disability"]), min_size=1, max_size=8))
def test_interleave_never_starves_a_normal_ticket(priority_run, normals_before, arrivals):
    """Priority tickets keep arriving, one per call; a waiting normal ticket is still called soon."""
    d = Driver(small_office(mode="interleave", priority_run=priority_run))
    for _ in range(normals_before):
        d.issue("general", "normal")
    target = d.issue("general", "normal")
    bound = (normals_before + 1) * (priority_run + 1) + priority_run
    for i in range(bound + 1):
        d.issue("general", arrivals[i % len(arrivals)])
        d.issue("general", arrivals[(i + 1) % len(arrivals)])
        t = d.next("1")
        if t is not None and t.id == target.id:
            return
    raise AssertionError(f"normal ticket not called within {bound + 1} calls")


@settings(max_examples=60, deadline=None)
@given(st.integers(5, 60), st.integers(1, 10))
def test_max_wait_calls_anyone_waiting_too_long_first(max_wait, step_minutes):
    """Strict mode would serve priority forever; max_wait lets the long wait through."""
    d = Driver(small_office(mode="strict", max_wait=max_wait))
    target = d.issue("general", "normal")
    for _ in range(max_wait // step_minutes + 3):
        d.issue("general", "disability")
        d.tick(minutes=step_minutes)
        t = d.next("1")
        waited = (d.now - target.issued_at).total_seconds() / 60
        if t is not None and t.id == target.id:
            assert waited >= max_wait
            return
        assert waited < max_wait, "waited past max_wait_minutes and was not called"
    raise AssertionError("never called")
