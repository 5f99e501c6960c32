"""Erlang C against the worked examples of shared/reference/domain.md §4.3."""

from __future__ import annotations

import pytest

from server.reports.erlang import advise, p_wait, staffing


@pytest.mark.parametrize("arrivals,minutes,counters,wait_pct,mean_min,within_10", [
    (20, 8, 3, 80, 19.1, 47), (20, 8, 4, 38, 2.3, 93), (40, 8, 6, 71, 8.6, 69), (40, 8, 7, 41, 2.0, 95),
    (60, 8, 9, 65, 5.2, 81), (60, 8, 10, 41, 1.6, 97), (60, 10, 12, 45, 2.2, 94),
])
def test_the_worked_examples(arrivals, minutes, counters, wait_pct, mean_min, within_10):
    s = staffing(arrivals, minutes * 60, counters, 600)
    assert round(100 * p_wait(arrivals, minutes * 60, counters)) == wait_pct
    assert round(s.mean_wait_s / 60, 1) == pytest.approx(mean_min, abs=0.1)
    assert round(s.within_target_pct) == within_10


def test_60_an_hour_at_8_minutes_9_10_11_counters():
    assert [round(100 * p_wait(60, 480, c)) for c in (9, 10, 11)] == [65, 41, 24]


def test_too_few_counters_always_wait_and_nobody_waits_without_arrivals():
    assert p_wait(60, 480, 8) == 1.0 and p_wait(60, 480, 3) == 1.0
    assert staffing(60, 480, 8, 600).mean_wait_s is None
    assert p_wait(0, 480, 2) == 0.0


def test_advice_is_the_fewest_counters_that_meet_the_service_level():
    a = advise(60, 480, 600, 80)
    assert a["counters"] == 9  # 81 % called within 10 minutes; 8 counters cannot keep up at all
    assert [o["counters"] for o in a["options"]] == [8, 9, 10]
    assert advise(60, 480, 600, 95)["counters"] == 10
    assert advise(20, 480, 600, 80)["counters"] == 4
    assert advise(0, 480, 600, 80) == {"counters": 0, "options": []}
