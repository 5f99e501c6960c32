"""「快到號時提醒我」 and 「預約民眾優先」 on /s/<id>, in a real headless Chromium with notifications granted."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import requests
from browser import browser
from conftest import ADMIN, KIOSK, counter_auth

PHONE = {"width": 390, "height": 844}
# Records what the page asks of the phone: Notifications constructed, vibrations, sounds.
STUBS = """
window.__notes = []; window.__vibrations = []; window.__tones = 0;
class FakeNotification {
  constructor(title, options) { window.__notes.push({title: title, body: (options || {}).body}); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
}
window.Notification = FakeNotification;
navigator.vibrate = function (pattern) { window.__vibrations.push(pattern); return true; };
const realOsc = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__tones += 1; return realOsc.call(this); };
"""


def issue(url: str) -> dict:
    r = requests.post(url + "/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=10)
    assert r.status_code == 201
    return r.json()["ticket"]


def test_remind_me_when_three_are_ahead_and_say_why_an_appointment_went_first(hub_process):
    url = hub_process.url
    for _ in range(5):
        issue(url)
    mine = issue(url)
    with browser() as b:
        context = b.new_context(viewport=PHONE, locale="zh-TW", permissions=["notifications"])
        context.add_init_script(STUBS)
        page = context.new_page()
        page.goto(f"{url}/s/{mine['id']}")
        page.wait_for_selector("#t-status:has-text('前面還有 5 人')", timeout=15000)
        page.click("#remind")
        assert page.locator("#remind").get_attribute("aria-pressed") == "true"
        page.wait_for_selector("#remind-state:has-text('前面剩 3 人時會提醒您')", timeout=5000)
        assert page.evaluate("window.__notes") == []  # five ahead: not yet

        # A booking whose slot is now checks in: it goes first, and the page says why (no code shown).
        now = datetime.now(ZoneInfo("Asia/Taipei"))
        csv = f"code,service,slot\nRB-1,general,{now:%Y-%m-%d %H:%M}\n"
        r = requests.post(url + "/api/v1/appointments", data=csv.encode(),
                          headers={**ADMIN, "Content-Type": "text/csv"}, timeout=10)
        assert r.status_code == 201, r.text
        assert requests.post(url + "/api/v1/appointments/RB-1/check-in", headers=KIOSK, timeout=10).status_code == 201
        page.wait_for_selector("#t-why:has-text('預約民眾優先')", timeout=15000)
        assert "RB-1" not in page.content()

        # The appointment, then A001 and A002: three ahead now.
        for _ in range(3):
            assert requests.post(url + "/api/v1/counters/3/next", headers=counter_auth("3"), timeout=10).ok
        page.wait_for_function("window.__notes.length === 1", timeout=20000)
        note = page.evaluate("window.__notes[0]")
        assert mine["number"] in note["title"] and "3" in note["body"]
        assert page.evaluate("window.__vibrations") == [[300, 150, 300]]
        assert page.evaluate("window.__tones") >= 1
        page.wait_for_selector("#remind-state:has-text('快輪到您了')", timeout=5000)
        # Once only: another call does not notify again.
        assert requests.post(url + "/api/v1/counters/3/next", headers=counter_auth("3"), timeout=10).ok
        page.wait_for_selector("#t-status:has-text('前面還有 2 人')", timeout=15000)
        assert page.evaluate("window.__notes.length") == 1
