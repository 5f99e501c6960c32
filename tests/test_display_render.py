"""Rendering, headless (SDL dummy driver): PNG snapshots checked for where the number is and how big."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
from PIL import Image, ImageChops  # noqa: E402
from test_display_state import T0, call, counter_ev, run, snapshot  # noqa: E402

from display.layout import Box, layout  # noqa: E402
from display.render import BANNER, FLASH_S, OFFLINE_BANNER_S, Painter, render  # noqa: E402
from display.state import BoardState  # noqa: E402

SIZES = [(1920, 1080), (1280, 720), (1080, 1920)]
LONG = "臺中市南屯區戶政事務所第一辦公室暨新住民多元文化服務中心附設綜合業務特別專用櫃台" * 2


@pytest.fixture(scope="module")
def painter() -> Painter:
    pygame.display.init()
    return Painter()


def ink_bbox(png: Path, box: Box) -> tuple[int, int, int, int] | None:
    """Bounding box (in screen coordinates) of everything in `box` that is not its background colour."""
    img = Image.open(png).convert("RGB").crop((box.x, box.y, box.x + box.w, box.y + box.h))
    bg = max(img.getcolors(box.w * box.h) or [(0, (0, 0, 0))])[1]
    diff = ImageChops.difference(img, Image.new("RGB", img.size, bg)).convert("L").point(lambda v: 255 if v > 60
                                                                                           else 0)
    bb = diff.getbbox()
    return (bb[0] + box.x, bb[1] + box.y, bb[2] + box.x, bb[3] + box.y) if bb else None


def busy_board(long_names: bool = False) -> BoardState:
    counters = {str(i): None for i in range(1, 17)}
    counters.update({"3": "A009", "4": "A001", "11": "B001"})
    snap = snapshot(30, [call(28, "A001", "4"), call(29, "B001", "11"), call(30, "A009", "3")], counters)
    if long_names:
        snap["office"]["name"] = {"zh-TW": LONG, "en": "The Office " * 30}
        for c in snap["counters"]:
            c["name"] = {"zh-TW": f"{c['id']}{LONG}", "en": "Counter with a very long English name " * 5}
        for s in snap["services"]:
            s["name"] = {"zh-TW": LONG, "en": "Service " * 40}
        snap["services"] = snap["services"] * 8
    s, _ = run([("state", snap), ("link_up", {})])
    ev = call(31, "A023" if not long_names else "ABCDEFGHIJ0123456789", "15", priority=True)
    if long_names:
        ev["counter"]["name"] = {"zh-TW": LONG, "en": "Counter " * 40}
    s, _ = run([("call", ev), ("counter", counter_ev(32, "15", "A023"))], s, now=T0)
    return s


def draw(state: BoardState, now: float, size: tuple[int, int], painter: Painter, out: Path):
    surface = pygame.Surface(size)
    drawn = render(state, now, surface, painter)
    pygame.image.save(surface, str(out))
    return drawn


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_called_number_is_large_and_where_expected(size: tuple[int, int], painter: Painter, tmp_path: Path) -> None:
    state = busy_board()
    png = tmp_path / "board.png"
    for now in (T0 + 0.1, T0 + 0.6, T0 + FLASH_S + 5):  # both flash phases and after the flash
        draw(state, now, size, painter, png)
        L = layout(*size, len(state.counters), len(state.services))
        bb = ink_bbox(png, L.hero_number)
        assert bb is not None, "nothing drawn where the number belongs"
        height = bb[3] - bb[1]
        minimum = 140 * size[1] / 1080 if size[1] < size[0] else 140
        assert height >= minimum, f"digits {height} px tall at {size}"
        # Centred in its box, and about as wide as four bold characters.
        centre = (bb[0] + bb[2]) / 2
        assert abs(centre - (L.hero_number.x + L.hero_number.w / 2)) < L.hero_number.w * 0.05
        assert bb[2] - bb[0] > 2 * height


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("long_names", [False, True], ids=["demo", "long-names"])
def test_nothing_overflows_its_box(size: tuple[int, int], long_names: bool, painter: Painter, tmp_path: Path) -> None:
    state = busy_board(long_names)
    drawn = draw(state, T0 + 1, size, painter, tmp_path / "b.png")
    names = {d.name for d in drawn}
    assert {"office", "date", "time", "hero_number", "hero_counter", "marquee_call"} <= names
    for d in drawn:
        assert d.box.contains(d.rect), f"{d.name}: {d.rect} outside {d.box}"
        assert 0 <= d.rect.x and d.rect.x + d.rect.w <= size[0] and d.rect.y + d.rect.h <= size[1]
    texts = {d.name: d.text for d in drawn}
    if long_names:
        assert texts["office"].endswith("…") and texts["hero_counter"].endswith("…")
        assert texts["hero_number"] == "ABCDEFGHIJ0123456789"  # a number shrinks; it is never cut
    else:
        assert texts["office"] == "南屯戶政" and texts["hero_number"] == "A023"


def test_screen_shows_date_in_roc_and_the_bilingual_call(painter: Painter, tmp_path: Path) -> None:
    state = busy_board()
    surface = pygame.Surface((1920, 1080))
    drawn = render(state, T0 + 1, surface, painter)
    by_name = {d.name: d for d in drawn}
    assert "hero_badge" in by_name  # a priority call is marked
    assert "marquee_call" in by_name  # the call interrupts the announcements
    later = render(state, T0 + 600, surface, painter)
    assert "marquee" in {d.name for d in later} and "marquee_call" not in {d.name for d in later}


def test_private_service_shows_number_and_counter_only(painter: Painter) -> None:
    s, _ = run([("state", snapshot(1)), ("link_up", {}), ("call", call(2, "P001", "16", private=True,
                                                                        priority=True))])
    drawn = {d.name for d in render(s, T0 + 1, pygame.Surface((1920, 1080)), painter)}
    assert {"hero_number", "hero_counter"} <= drawn
    assert "hero_service" not in drawn and "hero_badge" not in drawn
    s2, _ = run([("state", snapshot(1)), ("link_up", {}), ("call", call(2, "A001", "3"))])
    assert "hero_service" in {d.name for d in render(s2, T0 + 1, pygame.Surface((1920, 1080)), painter)}


def test_not_connected_banner_after_ten_seconds(painter: Painter, tmp_path: Path) -> None:
    state = busy_board()
    down, _ = run([("link_down", {"reason": "transport error"})], state, now=T0 + 100)
    L = layout(1920, 1080, len(state.counters), len(state.services))
    before = {d.name for d in draw(down, T0 + 100 + OFFLINE_BANNER_S - 1, (1920, 1080), painter, tmp_path / "a.png")}
    assert "banner" not in before
    png = tmp_path / "b.png"
    after = {d.name for d in draw(down, T0 + 100 + OFFLINE_BANNER_S + 1, (1920, 1080), painter, png)}
    assert "banner" in after
    img = Image.open(png).convert("RGB")
    assert img.getpixel((L.banner.x + 5, L.banner.y + 5)) == BANNER
    # Back online: the banner goes.
    up, _ = run([("state", snapshot(40)), ("link_up", {})], down, now=T0 + 130)
    assert "banner" not in {d.name for d in render(up, T0 + 131, pygame.Surface((1920, 1080)), painter)}


def test_a_board_that_never_connected_says_so(painter: Painter) -> None:
    drawn = {d.name for d in render(BoardState(offline_since=T0), T0 + 30, pygame.Surface((1280, 720)), painter)}
    assert "banner" in drawn and "hero_label" in drawn


def test_the_marquee_follows_the_announcements_event_and_a_call_interrupts_it(painter: Painter) -> None:
    s, _ = run([("state", snapshot(5)), ("link_up", {})])
    surface = pygame.Surface((1280, 720))
    new = {"id": "a9", "text": {"zh-TW": "新法令宣導", "en": "New rules"}, "starts_at": None, "ends_at": None,
           "active": True}
    s, _ = run([("announcements", {"announcements": [new]})], s)
    marquee = {d.name: d for d in render(s, T0 + 1, surface, painter)}["marquee"]
    assert "新法令宣導" in marquee.text and "New rules" in marquee.text and "Fraud" not in marquee.text
    s, _ = run([("call", call(6, "A007"))], s, now=T0 + 2)
    names = {d.name for d in render(s, T0 + 3, surface, painter)}
    assert "marquee_call" in names and "marquee" not in names  # the call interrupts the announcements
    s, _ = run([("announcements", {"announcements": []})], s, now=T0 + 4)
    assert "marquee_call" in {d.name for d in render(s, T0 + 5, surface, painter)}  # and keeps the strip
    assert not any(d.name == "marquee" for d in render(s, T0 + 600, surface, painter))  # none left: empty


def test_an_appointment_call_says_why_it_went_first(painter: Painter) -> None:
    s, _ = run([("state", snapshot(1)), ("link_up", {}), ("call", call(2, "A007", "3", by_appointment=True))])
    drawn = {d.name: d for d in render(s, T0 + 1, pygame.Surface((1920, 1080)), painter)}
    assert "預約 Appointment" in drawn["hero_badge"].text
    plain, _ = run([("state", snapshot(1)), ("link_up", {}), ("call", call(2, "A008", "3"))])
    assert "hero_badge" not in {d.name for d in render(plain, T0 + 1, pygame.Surface((1920, 1080)), painter)}
    private, _ = run([("state", snapshot(1)), ("link_up", {}),
                      ("call", call(2, "P001", "16", private=True, by_appointment=True))])
    assert "hero_badge" not in {d.name for d in render(private, T0 + 1, pygame.Surface((1920, 1080)), painter)}
