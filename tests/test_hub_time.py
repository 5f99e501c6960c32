"""Kiosks and boards show the hub's time, not their own (issue #13), and learn the hub's status without a press.

A Pi has no real-time clock: a kiosk's or a board's own clock may be days off. The hub sends `server_time`
in `state`, in every `hub` event (also once a minute) and in GET /services; the clients show it carried on by
their monotonic clock (server/wire/hubtime.py, server/static/hub-time.js). Here the hub's clock is faked
(a FakeClock in-process, libfaketime for a real `jiaohao serve`) and the clients' clocks differ from it.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
from conftest import DISPLAY, KIOSK, ROOT, FakeClock, HubProcess  # noqa: E402
from test_kiosk_controller import CONFIG, Clock, FakeHub  # noqa: E402

from display.render import Painter, render  # noqa: E402
from display.state import BoardState, initial, on_new_time_line, reduce  # noqa: E402
from kiosk.controller import Controller, Lamp  # noqa: E402
from kiosk.hub_client import HubClient  # noqa: E402
from kiosk.printer import SimulatedPrinter  # noqa: E402
from kiosk.screen import KioskScreen  # noqa: E402
from kiosk.screen_model import build_model  # noqa: E402
from kiosk.ticket_image import TicketContent, render_ticket  # noqa: E402
from server.app import create_app  # noqa: E402
from server.hub import Hub  # noqa: E402
from server.store import Store  # noqa: E402
from server.wire.hubtime import HubTime, parse_server_time  # noqa: E402

# The hub's faked time: 2031-03-05 14:27 in Taipei, a Wednesday, far from this machine's own clock.
HUB_UTC = "2031-03-05 06:27:00"
HUB_DATE = "民國120年3月5日（星期三）"
HUB_CLOCKS = ("14:27", "14:28", "14:29")  # the test may take a minute or two to get there
LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))


# -- the hub says its time ------------------------------------------------------------------------

def test_state_and_services_carry_the_hubs_time_in_the_offices_zone(client: Any, clock: FakeClock) -> None:
    clock.now = datetime(2031, 3, 5, 6, 27, 0, 250000, tzinfo=UTC)
    state = client.get("/api/v1/state", headers=DISPLAY).get_json()
    assert state["server_time"] == "2031-03-05T14:27:00.250+08:00"
    clock.advance(seconds=90)
    answer = client.get("/api/v1/services", headers=KIOSK).get_json()
    assert answer["server_time"] == "2031-03-05T14:28:30.250+08:00"
    assert answer["hub"] == {"status": "ok", "message": None} and answer["services"]


def test_a_hub_event_with_its_time_goes_out_once_a_minute_from_the_tick(office: Any, tmp_path: Path) -> None:
    clock = FakeClock(datetime(2031, 3, 5, 6, 27, tzinfo=UTC))
    hub = Hub(office, Store(tmp_path / "hub.db"), clock=clock)
    heard: list[tuple[str, dict[str, Any]]] = []
    hub.listeners.append(lambda name, data: heard.append((name, data)))
    try:
        hub.tick()
        clock.advance(seconds=30)
        hub.tick()
        assert heard == []  # clients had the time with `state`; the status did not change
        clock.advance(seconds=31)
        hub.tick()
        assert heard == [("hub", {"status": "ok", "message": None, "server_time": "2031-03-05T14:28:01.000+08:00"})]
        clock.advance(seconds=59)
        hub.tick()
        assert len(heard) == 1
        clock.advance(seconds=1)
        hub.tick()
        assert len(heard) == 2 and heard[1][1]["server_time"] == "2031-03-05T14:29:01.000+08:00"
    finally:
        hub.store.close()


def test_a_hub_whose_clock_is_behind_sends_no_time(office: Any, tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    clock = FakeClock(datetime(2031, 3, 5, 6, 27, tzinfo=UTC))
    app = create_app(office, db, clock=clock)
    assert app.test_client().post("/api/v1/tickets", json={"service": "general"}, headers=KIOSK).status_code == 201
    app.extensions["jiaohao"].store.close()
    clock.now = datetime(2026, 1, 1, tzinfo=UTC)  # restarted without its clock, before NTP
    app = create_app(office, db, clock=clock)
    try:
        c = app.test_client()
        state = c.get("/api/v1/state", headers=DISPLAY).get_json()
        assert state["hub"]["status"] == "clock_behind" and state["server_time"] is None
        answer = c.get("/api/v1/services", headers=KIOSK).get_json()
        assert answer["hub"]["status"] == "clock_behind" and answer["server_time"] is None
        # The pygame board then shows no time at all.
        board, _ = reduce(initial(0.0), "state", state, now=0.0)
        assert not board.clock_known and board.hold is not None
    finally:
        app.extensions["jiaohao"].store.close()


# -- what a client keeps of it --------------------------------------------------------------------

def test_hub_time_is_the_hubs_reading_plus_monotonic_time_since() -> None:
    mono = Clock()
    h = HubTime(mono, wall=lambda: 1e9)  # the client's own clock: 2001
    assert h.now() is None and h.timeline() == 1e9
    h.take({"seq": 1})  # no server_time: nothing learnt
    assert not h.known
    h.take({"server_time": "2031-03-05T14:27:00.000+08:00"})
    start = datetime(2031, 3, 5, 6, 27, tzinfo=UTC).timestamp()
    assert h.now() == start
    mono.t += 125.5
    assert h.now() == start + 125.5 and h.timeline() == start + 125.5
    h.take({"status": "clock_behind", "server_time": None})
    assert h.now() is None and h.timeline() == start + 125.5  # timers go on; nothing is shown
    assert parse_server_time("2031-03-05T14:27:00") is None  # no offset: no instant
    assert parse_server_time("tomorrow") is None and parse_server_time(12) is None


def test_an_outage_keeps_its_length_when_the_board_moves_to_the_hubs_time_line() -> None:
    mono = Clock()
    h = HubTime(mono, wall=lambda: 1e9)  # the board's own clock: 2001
    board = initial(h.timeline())
    mono.t += 4
    state = {"seq": 0, "counters": [], "recent_calls": [], "services": [],
             "server_time": "2031-03-05T14:27:00.000+08:00"}
    moved = h.take(state)
    assert moved == datetime(2031, 3, 5, 6, 27, tzinfo=UTC).timestamp() - (1e9 + 4)
    board = on_new_time_line(board, moved)
    board, _ = reduce(board, "state", state, now=h.timeline())  # GET /state answered; the socket is not in yet
    assert board.offline_for(h.timeline()) == 4  # not thirty years: the banner waits its 10 s
    assert h.take({"seq": 1}) == 0.0


def test_the_board_shows_the_hubs_time_whatever_its_own_clock_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC).timestamp())
    mono = Clock()
    h = HubTime(mono)
    state = {"seq": 0, "counters": [], "recent_calls": [], "services": [],
             "office": {"name": {"zh-TW": "南屯戶政", "en": "Nantun"}, "timezone": "Asia/Taipei"},
             "server_time": "2031-03-05T14:27:00.000+08:00"}
    board = initial(h.timeline())
    assert not board.clock_known
    h.take(state)
    board, _ = reduce(board, "state", state, now=h.timeline())
    mono.t += 61
    texts = _board_texts(board, h.timeline())
    assert (texts["time"], texts["date"]) == ("14:28", HUB_DATE)
    board, _ = reduce(board, "hub", {"status": "clock_behind", "message": None, "server_time": None}, now=0)
    assert _board_texts(board, h.timeline())["time"] == "--:--"


def _board_texts(board: BoardState, now: float) -> dict[str, str]:
    pygame.display.init()
    return {d.name: d.text for d in render(board, now, pygame.Surface((1280, 720)), Painter())}


# -- the kiosk: the hub's time on its screen, the hub's status without a press -----------------------

class TimedHub(FakeHub):
    """FakeHub whose GET /services says the hub's time and status, as the real one does."""

    def __init__(self) -> None:
        super().__init__()
        self.status = "ok"
        self.server_time: str | None = "2031-03-05T14:27:00.000+08:00"

    def services_answer(self, deadline_s: float = 3.0) -> dict[str, Any]:
        answer = super().services_answer(deadline_s)
        message = None if self.status == "ok" else {"zh-TW": "主機時間尚未校正", "en": "The hub's clock is behind"}
        answer.update(hub={"status": self.status, "message": message}, server_time=self.server_time)
        return answer


def test_the_kiosk_screen_shows_the_hubs_time_not_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 0.0)  # the kiosk's own clock reads 1970
    mono = Clock()
    hub = TimedHub()
    c = Controller(CONFIG, hub, SimulatedPrinter(), server_url="http://hub:8600", monotonic=mono)
    assert build_model(c).time is None  # nothing said yet: no time shown
    c.refresh()  # GET /state first (no time in FakeHub's), so: not yet
    c.refresh()  # then GET /services, with the hub's time
    m = build_model(c)
    assert (m.time, m.date) == ("14:27", HUB_DATE)
    mono.t += 3 * 60
    assert build_model(c).time == "14:30"  # the hub's time carried on by the monotonic clock
    drawn = {d.name: d.text for d in KioskScreen((800, 480)).draw(build_model(c), pygame.Surface((800, 480))).drawn}
    assert drawn["clock"] == "14:30" and drawn["clock_date"] == HUB_DATE


def test_the_kiosk_shows_clock_behind_before_anyone_presses_and_lets_go_when_the_hub_does() -> None:
    hub = TimedHub()
    c = Controller(CONFIG, hub, SimulatedPrinter(), server_url="http://hub:8600", monotonic=Clock())
    c.refresh()
    c.refresh()
    assert c.lamps()[1] == Lamp.OFF
    hub.status, hub.server_time = "clock_behind", None
    c.refresh()  # a poll, no press
    lamps, fault = c.lamps()
    assert fault == Lamp.ON and set(lamps.values()) == {Lamp.OFF}
    m = build_model(c)
    assert m.fault and "時間" in m.banner.zh and "clock" in m.banner.en and m.banner.level == "error"
    assert m.time is None  # the hub does not know the time: none is shown
    assert c.status()["hub_status"] == "clock_behind" and not hub.issue_calls
    hub.status, hub.server_time = "ok", "2031-03-05T14:40:00.000+08:00"
    c.refresh()
    lamps, fault = c.lamps()
    assert fault == Lamp.OFF and set(lamps.values()) == {Lamp.ON} and build_model(c).time == "14:40"


# -- a real hub on a faked clock: the kiosk, the pygame board and the web board -----------------------

@pytest.fixture
def faked_hub(tmp_path: Path) -> Any:
    """`jiaohao serve` under libfaketime, its clock at 2031-03-05 14:27 Taipei; this process keeps the real one."""
    if not LIBFAKETIME:
        if os.environ.get("CI"):
            pytest.fail("libfaketime is missing although scripts/test installs it (Debian package faketime)")
        pytest.skip("libfaketime is not installed (scripts/test installs Debian's faketime)")
    env = {"LD_PRELOAD": LIBFAKETIME[0], "FAKETIME": f"@{HUB_UTC}", "TZ": "UTC"}
    hp = HubProcess(tmp_path / "faked.db", env=env).start()
    yield hp
    hp.stop()


def test_a_kiosk_against_a_hub_on_another_clock_shows_and_prints_the_hubs_time(faked_hub: HubProcess) -> None:
    now = requests.get(f"{faked_hub.url}/api/v1/state", headers=KIOSK, timeout=10).json()["server_time"]
    assert now.startswith("2031-03-05T14:2"), now  # the hub runs on its faked clock
    assert abs(datetime.now(UTC).year - 2031) >= 1  # and this process on another
    printed: list[TicketContent] = []

    def keep(content: TicketContent, width: int) -> Any:
        printed.append(content)
        return render_ticket(content, width)

    c = Controller(CONFIG, HubClient(faked_hub.url, "demo-kiosk-1-token"), SimulatedPrinter(),
                   server_url=faked_hub.url, render=keep)
    c.refresh()
    c.refresh()
    m = build_model(c)
    assert m.time in HUB_CLOCKS and m.date == HUB_DATE
    assert c.press("general").printed
    issued = printed[0].issued_at
    assert issued.utcoffset() == timedelta(hours=8) and (issued.year, issued.month, issued.day) == (2031, 3, 5)


def test_the_pygame_board_shows_the_hubs_time(faked_hub: HubProcess, tmp_path: Path) -> None:
    png = tmp_path / "board.png"
    r = subprocess.run([sys.executable, "-m", "server.cli", "display", "--server", faked_hub.url, "--token",
                        "demo-display-lobby-token", "--headless", "--snapshot", str(png), "--timeout", "60"],
                       cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    line = next(x for x in r.stdout.splitlines() if "wrote" in x)
    assert HUB_DATE in line and any(f"{HUB_DATE} {t}" in line for t in HUB_CLOCKS), line


def test_the_web_board_shows_the_hubs_time_on_a_tv_whose_clock_is_wrong(faked_hub: HubProcess) -> None:
    from browser import browser

    with browser() as b:
        page = b.new_page(viewport={"width": 1280, "height": 720}, locale="zh-TW")
        # The TV's own clock, a year and a half behind the hub's: never what the board shows.
        page.add_init_script("""(() => {
            const Real = Date;
            window.tvOffset = -550 * 86400e3;
            class TV extends Real {
                constructor(...a) { if (a.length) super(...a); else super(Real.now() + window.tvOffset); }
                static now() { return Real.now() + window.tvOffset; }
            }
            window.Date = TV;
        })();""")
        page.goto(f"{faked_hub.url}/board?token=demo-display-lobby-token")
        page.wait_for_selector("body:not(.connecting)", timeout=15000)
        page.wait_for_function("document.getElementById('time').textContent !== '--:--'", timeout=15000)
        assert page.text_content("#time") in HUB_CLOCKS
        assert page.text_content("#date") == HUB_DATE
        # The TV's clock is set (NTP, a remote control): the board's clock does not move with it.
        page.evaluate("window.tvOffset = 5 * 3600e3")
        page.wait_for_timeout(2500)  # the clock redraws every second
        assert page.text_content("#time") in HUB_CLOCKS and page.text_content("#date") == HUB_DATE


def test_a_hub_restarted_on_a_clock_behind_its_database_shows_on_kiosk_and_boards_at_once(
        faked_hub: HubProcess, tmp_path: Path) -> None:
    r = requests.post(f"{faked_hub.url}/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=10)
    assert r.status_code == 201  # an event dated 2031 in its database
    faked_hub.stop()
    hub = HubProcess(faked_hub.db, port=faked_hub.port).start()  # this machine's clock: years earlier
    try:
        state = requests.get(f"{hub.url}/api/v1/state", headers=DISPLAY, timeout=10).json()
        assert state["hub"]["status"] == "clock_behind" and state["server_time"] is None
        # The kiosk: from its poll alone, before anyone presses.
        c = Controller(CONFIG, HubClient(hub.url, "demo-kiosk-1-token"), SimulatedPrinter(), server_url=hub.url)
        c.refresh()
        c.refresh()
        lamps, fault = c.lamps()
        m = build_model(c)
        assert fault == Lamp.ON and set(lamps.values()) == {Lamp.OFF} and m.banner.level == "error"
        assert "主機時間" in m.banner.zh and m.time is None and c.status()["hub_status"] == "clock_behind"
        # The web board: no time, and the hub's reason in its banner.
        from browser import browser

        with browser() as b:
            page = b.new_page(viewport={"width": 1280, "height": 720}, locale="zh-TW")
            page.goto(f"{hub.url}/board?token=demo-display-lobby-token")
            page.wait_for_selector("body:not(.connecting)", timeout=15000)
            page.wait_for_selector("#hold:not([hidden])", timeout=15000)
            assert page.text_content("#time") == "--:--" and "時間" in (page.text_content("#hold-zh") or "")
        # The pygame board: no time either.
        out = subprocess.run([sys.executable, "-m", "server.cli", "display", "--server", hub.url, "--token",
                              "demo-display-lobby-token", "--headless", "--snapshot", str(tmp_path / "b.png"),
                              "--timeout", "60"], cwd=ROOT, capture_output=True, text=True, timeout=90)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "showing — --:--" in out.stdout, out.stdout
    finally:
        hub.stop()
