"""The report pages, the floor and the console's alerts in a real headless Chromium: axe, SVG charts, A4 print."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from browser import axe_violations, browser
from conftest import ADMIN, KIOSK, ROOT, counter_auth

PHONE = {"width": 390, "height": 844}
PAPER_OUT = {"state": "error", "code": "paper_out", "message": {"zh-TW": "出票機缺紙", "en": "Out of paper"}}
DESK = {"width": 1280, "height": 900}


def add_user(db, name: str, role: str) -> None:
    r = subprocess.run([sys.executable, "-m", "server.cli", "user", "add", name, "--role", role, "--db", str(db),
                        "--password-stdin"], cwd=ROOT, input="correct horse\n", capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr


def seed(url: str) -> None:
    """A few visits at counters 3 and 13 and a rating, through the API."""
    for service, cid in (("general", "3"), ("general", "3"), ("english", "13")):
        assert requests.post(url + "/api/v1/tickets", json={"service": service}, headers=KIOSK, timeout=10).ok
        assert requests.post(f"{url}/api/v1/counters/{cid}/next", headers=counter_auth(cid), timeout=10).ok
        assert requests.post(f"{url}/api/v1/counters/{cid}/finish", headers=counter_auth(cid), timeout=10).ok
    r = requests.post(url + "/api/v1/counters/3/rating", json={"score": 4}, headers=counter_auth("3"), timeout=10)
    assert r.status_code == 201
    requests.post(url + "/api/v1/tickets", json={"service": "quick"}, headers=KIOSK, timeout=10)


def log_in(page, url: str, name: str, counter: str | None = None) -> None:
    page.goto(url + "/login")
    page.fill("#name", name)
    page.fill("#password", "correct horse")
    page.select_option("#counter", counter or "")
    page.click("button[type=submit]")


@pytest.fixture
def floor(hub_process):
    add_user(hub_process.db, "boss", "supervisor")
    add_user(hub_process.db, "amy", "clerk")
    seed(hub_process.url)
    return hub_process


def this_month() -> str:
    return datetime.now(ZoneInfo("Asia/Taipei")).strftime("%Y-%m")


def test_report_pages_pass_axe_and_carry_labelled_svg_charts(floor):
    url, month = floor.url, this_month()
    roc = f"{int(month[:4]) - 1911}年{int(month[5:])}月"
    with browser() as b:
        page = b.new_page(viewport=DESK, locale="zh-TW")
        log_in(page, url, "boss")
        page.wait_for_url(url + "/supervisor")
        charts = {"/reports/clerks": "積點排名", "/reports/waits": "各時段取號數",
                  "/reports/satisfaction": "滿意比率趨勢"}
        for path in ("/reports", "/reports/clerks", "/reports/waits", "/reports/satisfaction", "/reports/day"):
            page.goto(url + path)
            assert roc in page.locator("#title").inner_text() or path == "/reports", path
            violations = axe_violations(page)
            assert violations == [], (path, [(v["id"], v["help"]) for v in violations])
            if path in charts:
                svg = page.locator("svg[role=img]").first
                svg.wait_for(timeout=5000)
                assert charts[path] in svg.locator("title").text_content()
                labelled = svg.get_attribute("aria-labelledby").split()
                assert page.locator(f"#{labelled[0]}").text_content() == svg.locator("title").text_content()
                assert svg.bounding_box()["height"] > 50  # drawn, not an empty box
            if path == "/reports/satisfaction":  # a small line per counter and clerk, labelled, drawn
                spark = page.locator("tr[data-counter='3'] td.spark svg[role=img]")
                assert "3號綜合櫃台" in spark.locator("title").text_content()
                assert spark.bounding_box()["width"] > 100 and spark.bounding_box()["height"] > 30
                assert page.locator("tr[data-clerk] td.spark svg[role=img]").count() >= 1
        # The export links download what the API gives.
        page.goto(url + "/reports/clerks")
        with page.expect_download() as dl:
            page.click("a[href*='format=xlsx']")
        assert dl.value.suggested_filename.endswith(f"{roc}.xlsx")
        page.close()


def _print_a4(floor, report: str, pdf: Path, on_paper=None) -> str:
    """The report page as the supervisor's Chromium prints it to an A4 PDF; the text of its first page."""
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext is missing: scripts/test installs poppler-utils")
    url = floor.url
    with browser() as b:
        page = b.new_page(viewport=DESK, locale="zh-TW")
        log_in(page, url, "boss")
        page.wait_for_url(url + "/supervisor")
        page.goto(f"{url}/reports/{report}?month={this_month()}")
        page.emulate_media(media="print")
        if on_paper is not None:
            on_paper(page)
        page.pdf(path=str(pdf), format="A4", print_background=True)
    return subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, timeout=30, check=True).stdout


def test_the_clerk_ranking_prints_on_a4_with_its_title_and_table_on_page_one(floor, tmp_path):
    month, pdf = this_month(), tmp_path / "clerks.pdf"
    first = _print_a4(floor, "clerks", pdf)
    assert "承辦員績效評比" in first and f"{int(month[:4]) - 1911}年" in first
    assert "名次" in first and "積點" in first and "counter-3" in first  # the table, with its rows
    assert "下載 CSV" not in first and "登出" not in first  # no navigation on paper
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=30, check=True).stdout
    assert "595.92 x 842.88 pts" in info or "595 x 842 pts" in info  # A4


def test_satisfaction_prints_each_counters_growth_and_small_line_on_page_one(floor, tmp_path):
    def small_lines_printed(page) -> None:
        assert page.locator("td.spark svg").first.is_visible()  # the small lines are printed, not hidden

    month = this_month()
    first = _print_a4(floor, "satisfaction", tmp_path / "satisfaction.pdf", small_lines_printed)
    assert "服務滿意度" in first and f"{int(month[:4]) - 1911}年" in first
    assert "各櫃台" in first and "3號綜合" in first and "較上月" in first
    assert "100.0 %" in first  # counter 3's one rating, 很滿意
    assert "登出" not in first


def test_the_floor_on_a_phone(floor):
    url = floor.url
    paper_out = {"state": "error", "code": "paper_out", "message": {"zh-TW": "出票機缺紙", "en": "Out of paper"}}
    requests.post(url + "/api/v1/devices/self/status", headers=KIOSK, timeout=10, json=paper_out)
    with browser() as b:
        page = b.new_page(viewport=PHONE, locale="zh-TW")
        log_in(page, url, "boss")
        page.wait_for_url(url + "/supervisor")
        page.wait_for_selector("ul.alerts li.error:has-text('出票機缺紙')", timeout=10000)
        assert page.locator("text=快速案件").count() >= 1
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
        violations = axe_violations(page)
        assert violations == [], [(v["id"], v["help"]) for v in violations]


def test_the_floor_page_is_drawn_anew_when_the_hub_pushes(floor):
    url = floor.url
    with browser() as b:
        page = b.new_page(viewport=PHONE, locale="zh-TW")
        log_in(page, url, "boss")
        page.wait_for_url(url + "/supervisor")
        page.wait_for_selector("#floor[data-live=socket]", timeout=10000)
        drawn = []
        page.on("request", lambda r: drawn.append(r.url) if r.url.endswith("/supervisor/floor") else None)
        quick = page.locator("#floor tr:has-text('快速案件') td.n").first
        before = int(quick.inner_text())
        requests.post(url + "/api/v1/tickets", json={"service": "quick"}, headers=KIOSK, timeout=10)
        requests.post(url + "/api/v1/devices/self/status", headers=KIOSK, timeout=10, json=PAPER_OUT)
        # While the socket is up the page does not poll (it would every 15 s): only a push draws this.
        page.wait_for_selector("ul.alerts li.error:has-text('出票機缺紙')", timeout=10000)
        assert int(quick.inner_text()) == before + 1 and drawn
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_floor_page_polls_while_its_socket_is_down(floor):
    url = floor.url
    with browser() as b:
        page = b.new_page(viewport=PHONE, locale="zh-TW")
        page.route_web_socket(re.compile(r"/socket\.io/"), lambda ws: ws.close())  # the socket never comes up
        page.clock.install()
        log_in(page, url, "boss")
        page.wait_for_url(url + "/supervisor")
        assert page.locator("#floor").get_attribute("data-live") == "polling"
        requests.post(url + "/api/v1/devices/self/status", headers=KIOSK, timeout=10, json=PAPER_OUT)
        assert page.locator("ul.alerts li.error").count() == 0
        page.clock.run_for(16000)  # past the 15 s of the poll
        page.wait_for_selector("ul.alerts li.error:has-text('出票機缺紙')", timeout=10000)


def test_the_console_shows_alerts_the_hub_pushes_over_its_socket(floor):
    alert = {"kind": "idle_counter", "level": "warn", "counter": "4",
             "message": {"zh-TW": "4號綜合櫃台閒置 12 分鐘，仍有 3 人等候", "en": "Counter 4 idle 12 min while 3 wait"}}
    joined = []

    def through(ws):  # the real hub's socket, with one frame more from it, as after 12 idle minutes
        server = ws.connect_to_server()

        def from_hub(message):
            ws.send(message)
            if isinstance(message, str) and message.startswith("40"):
                joined.append(ws)  # the namespace is joined: the console listens now

        server.on_message(from_hub)
        ws.on_message(server.send)

    with browser() as b:
        page = b.new_page(viewport={"width": 400, "height": 300}, locale="zh-TW")
        page.route("**/console/api/alerts", lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps({"alerts": []})))  # not by polling
        page.route_web_socket(re.compile(r"/socket\.io/"), through)
        log_in(page, floor.url, "amy", "3")
        page.wait_for_url(floor.url + "/console")
        for _ in range(200):
            if joined:
                break
            page.wait_for_timeout(50)
        assert joined and page.locator("#alerts").inner_text() == ""
        joined[-1].send("42" + json.dumps(["floor", {"at": "2026-11-23T02:00:00+00:00",
                                                      "business_date": "2026-11-23", "alerts": [alert]}]))
        page.wait_for_selector("#alerts:has-text('閒置 12 分鐘')", timeout=10000)
        assert axe_violations(page) == []


def test_a_clerk_is_refused_the_reports(floor):
    with browser() as b:
        page = b.new_page(viewport=DESK, locale="zh-TW")
        log_in(page, floor.url, "amy", "3")
        page.wait_for_url(floor.url + "/console")
        r = page.goto(floor.url + "/reports/clerks")
        assert r.status == 403 and "沒有權限" in page.content()


def test_the_console_reads_the_floors_alerts_while_its_socket_is_down(floor):
    alert = {"kind": "long_wait", "level": "warn", "service": "general",
             "message": {"zh-TW": "綜合業務：已有民眾等候 41 分鐘", "en": "General: somebody has waited 41 min"}}
    with browser() as b:
        page = b.new_page(viewport={"width": 400, "height": 300}, locale="zh-TW")
        # The socket never comes up (it would push the hub's own alerts: none yet) ...
        page.route_web_socket(re.compile(r"/socket\.io/"), lambda ws: ws.close())
        # ... and what the hub says after 41 minutes, without waiting 41 minutes.
        page.route("**/console/api/alerts", lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps({"alerts": [alert]})))
        log_in(page, floor.url, "amy", "3")
        page.wait_for_url(floor.url + "/console")
        page.wait_for_selector("#alerts:has-text('已有民眾等候 41 分鐘')", timeout=10000)
        assert axe_violations(page) == []


def test_the_api_and_the_page_give_the_same_ranking(floor):
    month = this_month()
    api = requests.get(f"{floor.url}/api/v1/reports/clerks?month={month}", headers=ADMIN, timeout=10).json()
    assert [c["clerk"] for c in api["clerks"]] == ["counter-3", "counter-13"]  # 2 points, then 1.5
    assert [c["points"] for c in api["clerks"]] == [2, 1.5]
