"""The waiting list beside the office's media (pygame board): readable from across the hall. The media
region gives way (it shrinks, recent calls keep only the rows they fill), never the list's text."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
from test_display_media import Fixed  # noqa: E402
from test_display_state import T0, call, counter_ev, run, snapshot  # noqa: E402

from display.layout import MIN_TEXT_PX, layout  # noqa: E402
from display.render import Painter, render  # noqa: E402
from display.state import BoardState  # noqa: E402

SERVICES = [("household", "戶籍登記", "Household Registration", 4), ("id", "身分證", "ID Cards", 0),
            ("passport", "護照代收", "Passports", 2), ("seal", "印鑑證明", "Seal Certificates", 0),
            ("new", "新住民服務", "New Residents", 1), ("general", "綜合業務", "General", 7)]


def board(n_recent: int = 4) -> BoardState:
    """Six services (two with no wait), n_recent recent calls: the office's ordinary day."""
    counters = {str(i): None for i in range(1, 9)}
    calls = [call(20 + i, f"A{i:03d}", str(1 + i % 8)) for i in range(n_recent)]
    snap = snapshot(30, calls, counters)
    snap["services"] = [{"id": sid, "name": {"zh-TW": zh, "en": en}, "waiting": w,
                         "estimated_wait_s": 300 * w, "open": True} for sid, zh, en, w in SERVICES]
    s, _ = run([("state", snap), ("link_up", {})])
    s, _ = run([("counter", counter_ev(31, "3", "A003"))], s, now=T0)
    return s


@pytest.fixture(scope="module")
def painter() -> Painter:
    pygame.display.init()
    return Painter()


def picture() -> Fixed:
    img = pygame.Surface((1920, 1080))
    img.fill((200, 30, 30))
    return Fixed(img)


def sizes(state: BoardState, size: tuple[int, int], painter: Painter, out: Path | None = None) -> dict[str, float]:
    """The font size (px) each text of the waiting list is drawn at, with media in the region."""
    surface = pygame.Surface(size)
    drawn = render(state, T0 + 60, surface, painter, media=picture())
    if out is not None:
        pygame.image.save(surface, str(out))
    got = {}
    for d in drawn:
        if d.name.startswith("service_"):
            face = "regular" if d.name.endswith("_en") else "bold"
            got[d.name] = painter.fit(d.text, d.box.w, d.box.h, face)[0]
    assert any(d.name == "media" for d in drawn)  # the media is shown beside the list
    return got


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["1080p", "portrait"])
@pytest.mark.parametrize("n_recent", [1, 4])
def test_the_waiting_list_stays_readable_beside_media(size: tuple[int, int], n_recent: int, painter: Painter,
                                                      tmp_path: Path) -> None:
    got = sizes(board(n_recent), size, painter, tmp_path / "board.png")
    assert len([k for k in got if k.endswith("_name")]) == len(SERVICES)  # every service is listed
    scale = min(size) / 1080  # the minimums are for 1080 px; a 720p board scales them with everything else
    for name, px in got.items():
        least = MIN_TEXT_PX["en" if name.endswith("_en") else "zh"] * scale
        assert px >= least, (name, px, least)


def test_without_media_nothing_moves_and_with_it_the_media_region_gives_way() -> None:
    assert layout(1920, 1080, 8, 6) == layout(1920, 1080, 8, 6, n_recent=5)  # no media: as before
    few = layout(1920, 1080, 8, 6, n_recent=1, media=True)
    many = layout(1920, 1080, 8, 6, n_recent=5, media=True)
    assert len(few.recent) == 1 and len(many.recent) <= 3  # recent calls keep only the rows they fill
    assert few.media.h > many.media.h > 0  # the room they leave goes to the media, not wasted
    for L in (few, many):
        assert L.media.y >= L.services[-1].box.y + L.services[-1].box.h  # below the list, never over it
        assert L.media.w >= L.media.h  # still a picture, not a sliver


def test_more_services_than_fit_beside_media_leave_the_media_out() -> None:
    """Fourteen services: the list and a picture of useful size do not both fit readably. The media region is
    left out (render shows no picture) rather than the list made smaller than it is without media."""
    for size in ((1920, 1080), (1080, 1920)):
        L = layout(*size, 8, 14, n_recent=3, media=True)
        plain = layout(*size, 8, 14)
        assert L.media.h == 0 and len(L.services) == 14, size
        assert min(r.box.h for r in L.services) >= plain.services[0].box.h, size


if __name__ == "__main__":  # screenshots to look at: python tests/test_display_layout_media.py OUT_DIR
    pygame.display.init()
    out = Path(sys.argv[1])
    for sz in ((1920, 1080), (1080, 1920)):
        print(sz, sizes(board(), sz, Painter(), out / f"board-{sz[0]}x{sz[1]}.png"))
