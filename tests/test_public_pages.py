"""The public status pages in a real headless Chromium: a phone follows its ticket until it is called."""

from __future__ import annotations

import requests
from browser import axe_violations, browser
from conftest import KIOSK, counter_auth

PHONE = {"width": 390, "height": 844}


def issue(url: str, **body: str) -> dict:
    r = requests.post(url + "/api/v1/tickets", json=body, headers=KIOSK, timeout=10)
    assert r.status_code == 201
    return r.json()["ticket"]


def test_ticket_page_updates_when_called_and_switches_language(hub_process):
    url = hub_process.url
    first = issue(url, service="general")
    mine = issue(url, service="general")
    with browser() as b:
        page = b.new_page(viewport=PHONE, locale="zh-TW")
        page.goto(f"{url}/s/{mine['id']}")
        page.wait_for_selector("#t-number:has-text('A002')", timeout=15000)
        status = page.locator("#t-status")
        status.filter(has_text="下一位就是您").or_(status.filter(has_text="前面還有")).wait_for(timeout=15000)
        assert first["id"] not in page.content()  # no other ticket's id on the page
        # Counter 3 calls A001, then A002: the page says where to go, by itself.
        for _ in range(2):
            assert requests.post(url + "/api/v1/counters/3/next", headers=counter_auth("3"), timeout=10).ok
        page.wait_for_selector("#t-status:has-text('請至 3號綜合櫃台')", timeout=20000)
        assert page.locator("#ticket").get_attribute("role") == "alert"
        page.click("#lang")
        page.wait_for_selector("#t-status:has-text('Please go to Counter 3')", timeout=5000)
        assert page.evaluate("document.documentElement.lang") == "en"


def test_status_page_lists_services_without_private_names(hub_process):
    url = hub_process.url
    issue(url, service="private")
    with browser() as b:
        page = b.new_page(viewport=PHONE, locale="zh-TW")
        page.goto(f"{url}/status")
        page.wait_for_selector("#services tr", timeout=15000)
        text = page.locator("#services").inner_text()
        assert "綜合業務" in text and "專屬服務" in text
        assert "疼您" not in text and "死亡" not in text and "離婚" not in text


def test_public_pages_pass_axe_wcag_aa(hub_process):
    url = hub_process.url
    t = issue(url, service="quick", lane="elderly")
    with browser() as b:
        for path in ("/status", f"/s/{t['id']}"):
            for locale in ("zh-TW", "en-US"):
                page = b.new_page(viewport=PHONE, locale=locale)
                page.goto(url + path)
                page.wait_for_selector("#services tr", timeout=15000)
                violations = axe_violations(page)
                assert violations == [], [(v["id"], v["help"]) for v in violations]
                page.close()


def test_missing_ticket_page_is_a_clear_404(hub_process):
    r = requests.get(hub_process.url + "/s/not-a-ticket", timeout=5)
    assert r.status_code == 404 and "查無此號碼牌" in r.text


def test_the_updated_time_is_the_hubs_in_the_offices_zone_not_the_phones(hub_process):
    """A phone in another zone (a visitor's, or a browser left on UTC) shows when the hub last answered in the
    office's own time: the hub's HTTP Date, in Asia/Taipei."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    with browser() as b:
        page = b.new_page(viewport=PHONE, locale="en-GB", timezone_id="America/New_York")
        before = datetime.now(ZoneInfo("Asia/Taipei"))
        page.goto(f"{hub_process.url}/status?lang=en")
        page.wait_for_function("document.getElementById('updated').textContent.includes(':')", timeout=15000)
        shown = page.locator("#updated").inner_text().strip()
        after = datetime.now(ZoneInfo("Asia/Taipei"))
    minutes = {(before + timedelta(seconds=s)).strftime("%H:%M") for s in range(0, int((after - before).seconds) + 2)}
    assert shown[:5] in minutes, (shown, sorted(minutes))
    new_york = {(datetime.now(ZoneInfo("America/New_York")) - timedelta(seconds=s)).strftime("%H:%M")
                for s in range(0, 60)}
    assert shown[:5] not in new_york  # 12 or 13 hours apart: never the phone's own zone
