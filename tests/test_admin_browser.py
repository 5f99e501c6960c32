"""The admin pages in a real headless Chromium, as an admin uses them, with a board in another browser."""

from __future__ import annotations

import subprocess
import sys

from browser import axe_violations, browser
from conftest import ROOT

PAGES = ("/admin", "/admin/counters", "/admin/announcements", "/admin/appointments", "/admin/media",
         "/admin/devices", "/admin/staff")


def add_admin(db) -> None:
    r = subprocess.run([sys.executable, "-m", "server.cli", "user", "add", "boss01", "--role", "admin", "--db",
                        str(db), "--password-stdin"], cwd=ROOT, input="correct horse\n", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def test_an_admin_adds_a_marquee_line_and_a_board_elsewhere_shows_it(hub_process):
    url = hub_process.url
    add_admin(hub_process.db)
    with browser() as b:
        board = b.new_context(viewport={"width": 1280, "height": 720}, locale="zh-TW").new_page()
        board.goto(f"{url}/board?token=demo-display-lobby-token")
        board.wait_for_selector("body:not(.connecting)", timeout=20000)
        board.wait_for_selector("#marquee-text:has-text('防詐騙')", state="attached", timeout=20000)

        page = b.new_context(locale="zh-TW").new_page()
        page.goto(url + "/admin")
        page.wait_for_url(url + "/admin/login")
        assert axe_violations(page) == []
        page.fill("#name", "boss01")
        page.fill("#password", "correct horse")
        page.click("button[type=submit]")
        page.wait_for_url(url + "/admin")
        for path in PAGES:
            page.goto(url + path)
            assert axe_violations(page) == [], path

        page.goto(url + "/admin/announcements")
        page.fill("#text-zh", "今日中午櫃台輪值，請耐心等候")
        page.fill("#text-en", "Fewer counters at lunch today")
        page.get_by_role("button", name="新增 Add", exact=True).click()
        page.wait_for_selector("[role=status]:has-text('The announcement is saved')")
        board.wait_for_selector("#marquee-text:has-text('今日中午櫃台輪值')", state="attached", timeout=20000)
        assert "Fewer counters at lunch today" in board.text_content("#marquee-text")

        # A new board device: its token is shown once, with the line that sets it up.
        page.goto(url + "/admin/devices")
        page.fill("#dev-id", "board-hall")
        page.select_option("#dev-role", "display")
        page.get_by_role("button", name="新增並產生權杖 Add and make a token").click()
        token = page.text_content("#token").strip()
        assert f"--token {token}" in page.text_content("#command")
        assert page.locator(".qr svg").count() == 1
        assert axe_violations(page) == []
        second = b.new_context(viewport={"width": 1280, "height": 720}).new_page()
        second.goto(f"{url}/board?token={token}")
        second.wait_for_selector("#marquee-text:has-text('今日中午櫃台輪值')", state="attached", timeout=20000)
