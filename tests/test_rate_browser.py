"""The satisfaction tablet in a real headless Chromium: a visit ends, the citizen taps a face."""

from __future__ import annotations

import requests
from browser import axe_violations, browser
from conftest import ADMIN, KIOSK, counter_auth


def test_citizen_rates_the_visit_on_the_counter_tablet(hub_process):
    url = hub_process.url
    with browser() as b:
        page = b.new_page(viewport={"width": 1024, "height": 600}, locale="zh-TW")
        page.goto(f"{url}/rate/3?token=demo-counter-3-token")
        page.wait_for_selector("#idle:not([hidden])", timeout=10000)
        assert page.locator("#ask").is_hidden()
        assert axe_violations(page) == []
        t = requests.post(url + "/api/v1/tickets", json={"service": "quick"}, headers=KIOSK, timeout=10).json()
        for action in ("next", "finish"):
            assert requests.post(f"{url}/api/v1/counters/3/{action}", headers=counter_auth("3"), timeout=10).ok
        page.wait_for_selector("#ask:not([hidden])", timeout=10000)
        assert axe_violations(page) == []
        page.fill("#comment", "謝謝")
        page.click("button[data-score='4']")
        page.wait_for_selector("#thanks:not([hidden])", timeout=10000)
    month = t["ticket"]["business_date"][:7]
    rep = requests.get(f"{url}/api/v1/reports/satisfaction?month={month}", headers=ADMIN, timeout=10).json()
    assert (rep["ratings"], rep["satisfied_pct"]) == (1, 100.0)
    assert rep["by_counter"][0]["counter"] == "3" and rep["comments"][0]["comment"] == "謝謝"
