"""Issue #14: boards show why the hub refuses changes (`state.hub`, the `hub` event): the pygame board
draws a banner, the board in a browser shows the same words."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame  # noqa: E402
from test_display_state import T0, run, snapshot  # noqa: E402

from display.render import Painter, render  # noqa: E402
from server.wire.text import Text  # noqa: E402

BEHIND = {"status": "clock_behind", "message": {"zh-TW": "主機時間尚未校正，暫停取號與叫號。",
                                                "en": "The hub's clock is behind."}}


def test_the_reducer_keeps_why_the_hub_holds() -> None:
    s, _ = run([("state", {**snapshot(3), "hub": BEHIND}), ("link_up", {})])
    assert s.hold == Text("主機時間尚未校正，暫停取號與叫號。", "The hub's clock is behind.")
    s, _ = run([("hub", {"status": "ok", "message": None})], s)
    assert s.hold is None
    s, _ = run([("hub", BEHIND)], s)
    assert s.hold is not None
    s, _ = run([("state", snapshot(4))], s)  # a hub that sends no `hub` field: nothing is assumed
    assert s.hold is not None


def test_the_pygame_board_draws_the_hold_banner() -> None:
    pygame.display.init()
    painter = Painter()
    s, _ = run([("state", {**snapshot(3), "hub": BEHIND}), ("link_up", {})])
    drawn = {d.name for d in render(s, T0 + 2, pygame.Surface((1920, 1080)), painter)}
    assert "hold" in drawn and "banner" not in drawn
    ok, _ = run([("hub", {"status": "ok", "message": None})], s)
    assert "hold" not in {d.name for d in render(ok, T0 + 3, pygame.Surface((1920, 1080)), painter)}


def test_the_board_in_a_browser_shows_why_the_hub_holds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from browser import browser
    from conftest import HubProcess
    from test_board_web import open_board

    from server.store import Store

    db = tmp_path / "ahead.db"
    Store(db).close()
    with sqlite3.connect(db) as conn:  # a database written while the clock was far ahead
        conn.execute("INSERT INTO events (at, business_date, kind, open_counters) VALUES "
                     "('2099-01-01T00:00:00.000+00:00', '2099-01-01', 'issued', 0)")
    hub = HubProcess(db).start()
    try:
        with browser() as b:
            page = open_board(b, hub.url)
            page.wait_for_selector("#hold:not([hidden])", timeout=15000)
            assert "時間" in page.inner_text("#hold-zh") and "clock" in page.inner_text("#hold-en")
            assert page.board_errors == []
    finally:
        hub.stop()
