"""Media on the TV (issue 9): the list and files from the hub, type-checked and size-limited, in rotation."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
from PIL import Image  # noqa: E402
from test_display_render import busy_board  # noqa: E402
from test_display_state import T0  # noqa: E402

from display import media as m  # noqa: E402
from display.layout import layout  # noqa: E402
from display.render import Painter, render  # noqa: E402

TOKEN = "board-token"


def png(w: int, h: int, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


def test_the_list_keeps_what_it_can_show_and_clamps_durations() -> None:
    items = m.parse_media({"media": [
        {"id": "a", "kind": "image", "url": "/f/a.png", "duration_s": 1},
        {"id": 2, "kind": "video", "url": "/f/b.mp4"},
        {"id": "c", "kind": "audio", "url": "/f/c.mp3"},  # a kind this board does not know
        {"id": "d", "kind": "image"},  # no url
        "junk", {"kind": "image", "url": "/x"},  # no id
        {"id": "e", "kind": "image", "url": "/f/e.png", "duration_s": 10_000},
    ]})
    assert [(i.id, i.kind, i.duration_s) for i in items] == [
        ("a", "image", m.MIN_DURATION_S), ("2", "video", m.DEFAULT_DURATION_S), ("e", "image", m.MAX_DURATION_S)]
    assert m.parse_media(None) == [] and m.parse_media({"media": "x"}) == []


def test_rotation_follows_the_clock_and_each_duration() -> None:
    items = [m.MediaItem("a", "image", "/a", 5), m.MediaItem("b", "image", "/b", 10)]
    assert [m.slot(items, t) for t in (0, 4.9, 5, 14.9, 15, 20)] == [0, 0, 1, 1, 0, 1]


def test_an_image_is_fitted_and_anything_else_refused() -> None:
    img = m.decode_image(png(400, 100), (200, 200))
    assert img.size == (200, 50) and img.mode == "RGB"
    with pytest.raises(m.MediaRefused, match="not an image"):
        m.decode_image(b"#!/bin/sh\nrm -rf /\n", (200, 200))
    with pytest.raises(m.MediaRefused, match="not an image"):
        m.decode_image(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', (200, 200))
    with pytest.raises(m.MediaRefused, match="more than"):
        m.decode_image(b"\0" * (m.MAX_BYTES + 1), (200, 200))
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "BMP")  # an image, but not of a format the board shows
    with pytest.raises(m.MediaRefused, match="BMP"):
        m.decode_image(buf.getvalue(), (200, 200))


class FakeHub:
    """A tiny local HTTP server standing in for the hub's GET /api/v1/media and its files."""

    def __init__(self, listing: dict[str, Any], files: dict[str, bytes]) -> None:
        self.listing, self.files, self.auth = listing, files, []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hub.auth.append(self.headers.get("Authorization"))
                if self.path == "/api/v1/media":
                    body, ctype = json.dumps(hub.listing).encode(), "application/json"
                elif self.path in hub.files:
                    body, ctype = hub.files[self.path], "application/octet-stream"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    h = FakeHub({"media": [
        {"id": "poster", "kind": "image", "url": "/files/poster.png", "duration_s": 8},
        {"id": "film", "kind": "video", "url": "/files/film.mp4", "duration_s": 30},
        {"id": "fake", "kind": "image", "url": "/files/fake.png"},
        {"id": "huge", "kind": "image", "url": "/files/huge.png"},
        {"id": "gone", "kind": "image", "url": "/files/missing.png"},
    ]}, {"/files/poster.png": png(1600, 900), "/files/film.mp4": b"\0\0\0 ftypisom",
         "/files/fake.png": b"MZ\x90\0 an executable", "/files/huge.png": b"\x89PNG" + b"\0" * (m.MAX_BYTES + 10)})
    yield h
    h.close()


def test_the_library_shows_only_images_that_decode_and_says_why_the_others_not(
        hub: FakeHub, caplog: pytest.LogCaptureFixture) -> None:
    pygame.display.init()
    lib = m.MediaLibrary(hub.url, TOKEN)
    caplog.set_level(logging.WARNING, "jiaohao.display.media")
    assert lib.surface(0, (320, 240)) is None  # nothing fetched yet: never waits for it
    lib.refresh()
    assert [i.id for i in lib.showable()] == ["poster"]
    assert set(hub.auth) == {f"Bearer {TOKEN}"}
    said = caplog.text
    for mid in ("film", "fake", "huge", "gone"):
        assert f"media {mid} " in said
    assert "film (video, /files/film.mp4) is not shown: not a video the board can play" in said
    assert "HTTP 404" in said
    surf = lib.surface(0, (320, 240))
    assert surf is not None and surf.get_size() == (320, 180)  # 16:9 fitted into 4:3, aspect kept
    caplog.clear()
    lib.refresh()  # the same list again: nothing downloaded again, nothing logged again
    assert caplog.text == "" and [i.id for i in lib.showable()] == ["poster"]
    hub.listing = {"media": []}
    lib.refresh()
    assert lib.showable() == [] and lib.surface(0, (320, 240)) is None
    kept = lib._dir  # the refused film's private directory (its file is gone already)
    lib.stop()
    assert kept is not None and not kept.exists() and lib._dir is None  # nothing left behind in /tmp


def test_a_new_size_is_prepared_in_the_background_not_in_the_frame(hub: FakeHub) -> None:
    pygame.display.init()
    lib = m.MediaLibrary(hub.url, TOKEN)
    lib.surface(0, (320, 240))
    lib.refresh()
    assert lib.surface(0, (320, 240)) is not None
    assert lib.surface(0, (640, 480)) is None  # the frame goes on without it
    lib.refresh()
    s = lib.surface(0, (640, 480))
    assert s is not None and s.get_size() == (640, 360)
    lib.stop()
    assert lib._dir is None


class Fixed:
    def __init__(self, surf: pygame.Surface | None) -> None:
        self.surf = surf

    def surface(self, now: float, size: tuple[int, int]) -> pygame.Surface | None:
        if self.surf is None:
            return None
        return pygame.transform.scale(self.surf, (min(size[0], self.surf.get_width()),
                                                  min(size[1], self.surf.get_height())))

    def showable(self) -> list[Any]:
        return [object()]


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (1080, 1920)], ids=str)
def test_media_take_their_region_and_the_call_stays_as_large(size: tuple[int, int]) -> None:
    pygame.display.init()
    painter = Painter()
    state = busy_board()
    surface = pygame.Surface(size)
    plain = {d.name: d for d in render(state, T0 + 1, surface, painter)}
    img = pygame.Surface((4000, 4000))
    img.fill((255, 0, 255))
    drawn = {d.name: d for d in render(state, T0 + 1, surface, painter, media=Fixed(img))}
    L = layout(*size, len(state.counters), len(state.services), len(state.recent), media=True)
    assert "media" in drawn and L.media.contains(drawn["media"].rect)
    assert surface.get_at((L.media.x + L.media.w // 2, L.media.y + L.media.h // 2))[:3] == (255, 0, 255)
    for name in ("hero_number", "hero_counter", "counter_3_number", "marquee_call"):
        assert drawn[name].rect == plain[name].rect  # the call panel and the counters are untouched
    for big in (L.hero, L.header, L.marquee, *(c.box for c in L.counters), *(r.box for r in L.recent),
                *(r.box for r in L.services)):
        x_apart = big.x + big.w <= L.media.x or L.media.x + L.media.w <= big.x
        y_apart = big.y + big.h <= L.media.y or L.media.y + L.media.h <= big.y
        assert x_apart or y_apart, (big, L.media)
    # Not ready yet: the region is there and dark, the rest drawn as ever.
    drawn = {d.name: d for d in render(state, T0 + 1, surface, painter, media=Fixed(None))}
    assert "media" not in drawn and "hero_number" in drawn
