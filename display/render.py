"""Drawing a BoardState with pygame: `render(state, now, surface)`. The only module that draws.

Every text goes through `Painter.text`, which shrinks it to fit its box and, below a minimum size,
cuts it with an ellipsis, so a long office or counter name never overflows. `render` returns what
it drew and where, so tests can check that every text stayed in its box.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
import pygame.freetype  # noqa: E402

from server.wire.text import Text  # noqa: E402

from . import fonts as fontmod  # noqa: E402
from .layout import Box, Layout, layout  # noqa: E402
from .roc import clock, en_date, roc_date_weekday  # noqa: E402
from .state import BoardState, Call  # noqa: E402

Color = tuple[int, int, int]
BG: Color = (9, 22, 44)
PANEL: Color = (17, 38, 74)
PANEL_DARK: Color = (12, 28, 56)
HERO_BG: Color = (4, 12, 28)
TEXT: Color = (242, 246, 252)
MUTED: Color = (165, 184, 212)
ACCENT: Color = (255, 212, 0)  # yellow on near-black: the highest contrast a TV shows well
PRIORITY: Color = (236, 96, 36)
RECALL: Color = (64, 196, 255)
BANNER: Color = (198, 28, 28)
CLOSED: Color = (110, 124, 150)

FLASH_S = 6.0  # a new call flashes this long
FLASH_PERIOD_S = 1.0
INTERRUPT_S = 15.0  # the marquee gives way to the call this long
OFFLINE_BANNER_S = 10.0  # issue #4: after 10 s without the hub, say so
MARQUEE_SPEED = 0.11  # screen widths per second
REF = "國Hgy"  # tallest and deepest glyphs: one size per box height, whatever the text


@dataclass(frozen=True)
class Drawn:
    name: str
    box: Box
    rect: Box
    text: str = ""  # as shown: shortened with … if it had to be


class Painter:
    """Fonts plus caches: measuring and rasterising text is the costly part of a frame on a Pi."""

    def __init__(self, fonts: fontmod.Fonts | None = None) -> None:
        self.fonts = fonts or fontmod.load()
        self._fit: OrderedDict[tuple[Any, ...], tuple[float, str]] = OrderedDict()
        self._surf: OrderedDict[tuple[Any, ...], tuple[pygame.Surface, pygame.Rect]] = OrderedDict()
        self._refs: dict[tuple[str, float], pygame.Rect] = {}

    def _face(self, face: str) -> Any:
        return self.fonts.bold if face == "bold" else self.fonts.regular

    def fit(self, text: str, w: int, h: int, face: str = "bold", ink: bool = False,
            max_size: float | None = None, min_ratio: float = 0.6) -> tuple[float, str]:
        """The largest size at which `text` fits w×h, and the text (ellipsized if even the minimum is too wide)."""
        key = (text, w, h, face, ink, max_size, min_ratio)
        hit = self._fit.get(key)
        if hit:
            self._fit.move_to_end(key)
            return hit
        f = self._face(face)
        ref = f.get_rect(text if ink else REF, size=100)
        size = 100 * h / max(1, ref.h)
        if max_size:
            size = min(size, max_size)
        natural = size
        tw = f.get_rect(text, size=100).w
        if tw * size / 100 > w:
            size = 100 * w / max(1, tw)
        # Below this a name is no longer readable across the hall: cut it instead. Numbers pass a
        # smaller ratio, since a cut number is worse than a smaller one.
        min_size = max(8.0, natural * min_ratio)
        if size < min_size:
            size = min_size
            text = self._ellipsize(f, text, w, size)
        size = math.floor(size)
        while size > 4:
            r = f.get_rect(text, size=size)
            rh = r.h if ink else f.get_rect(REF, size=size).h
            if r.w <= w and rh <= h and r.h <= h:
                break
            size -= 1
        self._fit[key] = (size, text)
        if len(self._fit) > 2000:
            self._fit.popitem(last=False)
        return size, text

    @staticmethod
    def _ellipsize(f: Any, text: str, w: int, size: float) -> str:
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if f.get_rect(text[:mid].rstrip() + "…", size=size).w <= w:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo].rstrip() + "…"

    def _ref_rect(self, face: str, size: float) -> pygame.Rect:
        """The reference glyph's box at this size, measured once: every text is placed by it."""
        key = (face, size)
        rect = self._refs.get(key)
        if rect is None:
            if len(self._refs) > 2000:
                self._refs.clear()
            rect = self._refs[key] = self._face(face).get_rect(REF, size=size)
        return rect

    def _render(self, text: str, size: float, color: Color, face: str) -> tuple[pygame.Surface, pygame.Rect]:
        key = (text, size, color, face)
        hit = self._surf.get(key)
        if hit:
            self._surf.move_to_end(key)
            return hit
        surf, rect = self._face(face).render(text, color, size=size)
        if pygame.display.get_surface() is not None:
            # freetype's surfaces have another byte order than the screen: converted once here,
            # every blit is a plain copy (a changed 1080p frame went from about 9 ms to 3 ms).
            surf = surf.convert_alpha()
        self._surf[key] = (surf, rect)
        if len(self._surf) > 600:
            self._surf.popitem(last=False)
        return surf, rect

    def text(self, surface: pygame.Surface, text: str, box: Box, color: Color, *, face: str = "bold",
             align: str = "left", ink: bool = False, max_size: float | None = None, min_ratio: float = 0.6,
             name: str = "", drawn: list[Drawn] | None = None) -> Box | None:
        if not text or box.w <= 4 or box.h <= 4:
            return None
        size, shown = self.fit(text, box.w, box.h, face, ink, max_size, min_ratio)
        surf, r = self._render(shown, size, color, face)
        if align == "center":
            x = box.x + (box.w - r.w) / 2
        elif align == "right":
            x = box.x + box.w - r.w
        else:
            x = box.x
        if ink:
            y = box.y + (box.h - r.h) / 2  # centred on its own ink: big digits sit in the middle
        else:
            ref = self._ref_rect(face, size)
            baseline = box.y + (box.h - ref.h) / 2 + ref.y
            y = baseline - r.y
        # Clamp: the fit guarantees the size, this guarantees the place.
        x = min(max(x, box.x), box.x + box.w - r.w)
        y = min(max(y, box.y), box.y + box.h - r.h)
        surface.blit(surf, (round(x), round(y)))
        out = Box(round(x), round(y), r.w, r.h)
        if drawn is not None:
            drawn.append(Drawn(name or text, box, out, shown))
        return out


class MediaSource(Protocol):
    """What render needs of display/media.py's MediaLibrary: the Surface due now, fitted in `size`, or None."""

    def surface(self, now: float, size: tuple[int, int]) -> pygame.Surface | None: ...

    def showable(self) -> list[Any]: ...


_painter: Painter | None = None


def default_painter() -> Painter:
    global _painter
    if _painter is None:
        _painter = Painter()
    return _painter


@lru_cache(maxsize=8)
def _tz(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Taipei")


def _fill(surface: pygame.Surface, box: Box, color: Color, radius: int = 0) -> None:
    pygame.draw.rect(surface, color, pygame.Rect(*box), border_radius=radius)


def flashing(state: BoardState, now: float) -> bool:
    """True in the 'inverted' half of each flash period while a new call is fresh."""
    if state.hero_at is None or not (0 <= now - state.hero_at < FLASH_S):
        return False
    return int((now - state.hero_at) / (FLASH_PERIOD_S / 2)) % 2 == 0


def fresh(state: BoardState, now: float, seconds: float) -> bool:
    return state.hero_at is not None and 0 <= now - state.hero_at < seconds


def minutes_text(s: int | None, waiting: int, is_open: bool) -> tuple[str, str]:
    if not is_open:
        return "暫停", "Closed"
    if waiting == 0:
        return "免等候", "No wait"
    if s is None:
        return "—", "—"
    m = max(1, math.ceil(s / 60))
    return f"約 {m} 分", f"~{m} min"


def call_sentence(call: Call) -> tuple[str, str]:
    return (f"{call.number} 號來賓，請到 {call.counter_name.zh}",
            f"Number {call.number}, please proceed to {call.counter_name.en}")


def render(state: BoardState, now: float, surface: pygame.Surface, painter: Painter | None = None,
           media: MediaSource | None = None) -> list[Drawn]:
    """Draws the whole board for time `now` (epoch seconds); returns every text drawn and its box.
    `media`: the office's images, shown in their region while there are any ready to show."""
    p = painter or default_painter()
    W, H = surface.get_size()
    with_media = media is not None and bool(media.showable())
    L = layout(W, H, len(state.counters), len(state.services), len(state.recent) if with_media else 5,
               media=with_media)
    d: list[Drawn] = []
    surface.fill(BG)
    _header(surface, p, L, state, now, d)
    _hero(surface, p, L, state, now, d)
    _counters(surface, p, L, state, now, d)
    _recent(surface, p, L, state, d)
    _services(surface, p, L, state, d)
    _marquee(surface, p, L, state, now, d)
    if with_media and media is not None:
        _media(surface, L, media, now, d)
    if state.offline_for(now) >= OFFLINE_BANNER_S:
        _offline(surface, p, L, state, d)
    elif state.hold is not None:
        _hold(surface, p, L, state.hold, d)
    return d


def _hold(s: pygame.Surface, p: Painter, L: Layout, why: Text, d: list[Drawn]) -> None:
    # The numbers shown are current, but nothing new is issued or called: say why, in the banner's place.
    b = L.banner
    _fill(s, b, BANNER)
    inner = b.inset(round(b.h * 0.1), round(b.h * 0.08))
    p.text(s, why.zh, Box(inner.x, inner.y, inner.w, round(inner.h * 0.55)), (255, 255, 255),
           align="center", name="hold", drawn=d)
    p.text(s, why.en, Box(inner.x, inner.y + round(inner.h * 0.6), inner.w, round(inner.h * 0.4)),
           (255, 235, 235), face="regular", align="center", name="hold_detail", drawn=d)


def _header(s: pygame.Surface, p: Painter, L: Layout, st: BoardState, now: float, d: list[Drawn]) -> None:
    _fill(s, L.header, PANEL_DARK)
    p.text(s, st.office.zh or "叫號系統", L.office, TEXT, name="office", drawn=d)
    p.text(s, st.office.en or "Queue board", L.office_en, MUTED, face="regular", name="office_en", drawn=d)
    if st.clock_known:  # `now` is then the hub's time; the board's own clock is never shown
        t = datetime.fromtimestamp(now, _tz(st.timezone))
        date, date_en, hhmm = roc_date_weekday(t.date()), en_date(t.date()), clock(t)
    else:  # the hub has not said its time yet, or does not know it (clock_behind)
        date, date_en, hhmm = "—", "—", "--:--"
    p.text(s, date, L.date, TEXT, align="right", name="date", drawn=d)
    p.text(s, date_en, L.date_en, MUTED, face="regular", align="right", name="date_en", drawn=d)
    p.text(s, hhmm, L.time, ACCENT, align="right", ink=True, name="time", drawn=d)


def _hero(s: pygame.Surface, p: Painter, L: Layout, st: BoardState, now: float, d: list[Drawn]) -> None:
    call = st.hero
    inverted = flashing(st, now)
    bg, fg = (ACCENT, HERO_BG) if inverted else (HERO_BG, ACCENT)
    text = HERO_BG if inverted else TEXT
    muted = HERO_BG if inverted else MUTED
    radius = round(L.height * 0.012)
    _fill(s, L.hero, bg, radius)
    if fresh(st, now, FLASH_S) and not inverted:
        pygame.draw.rect(s, ACCENT, pygame.Rect(*L.hero), width=max(3, L.height // 200), border_radius=radius)
    if call is None:
        label = "連線中… Connecting" if st.seq is None else "現在叫號  Now calling"
        p.text(s, label, L.hero_label, muted, name="hero_label", drawn=d)
        p.text(s, "—", L.hero_number, fg, align="center", ink=True, name="hero_number", drawn=d)
        return
    p.text(s, "現在叫號  Now calling", L.hero_label, muted, name="hero_label", drawn=d)
    badge, badge_color = "", PRIORITY
    if call.recall:
        badge, badge_color = "再次叫號  Recall", RECALL
    if call.priority and not call.private:
        lane = f"・{call.lane_name.zh} {call.lane_name.en}" if call.lane_name else ""
        badge = (badge + "　" if badge else "") + f"優先 Priority{lane}"
        badge_color = PRIORITY
    if call.appointment and not call.private:
        # Why this number went ahead of people who waited longer: the office promised it at its slot.
        badge = (badge + "　" if badge else "") + "預約 Appointment"
        badge_color = PRIORITY
    if badge:
        b = L.hero_badge
        size, shown = p.fit(badge, b.w - b.h, round(b.h * 0.7))
        w = p._face("bold").get_rect(shown, size=size).w + b.h
        pill = Box(b.x + b.w - w, b.y, w, b.h)
        _fill(s, pill, badge_color, b.h // 2)
        p.text(s, badge, pill.inset(b.h // 2, round(b.h * 0.15)), (255, 255, 255), align="center",
               name="hero_badge", drawn=d)
    p.text(s, call.number, L.hero_number, fg, align="center", ink=True, min_ratio=0.15, name="hero_number", drawn=d)
    p.text(s, f"請到 {call.counter_name.zh}", L.hero_counter, text, align="center", name="hero_counter", drawn=d)
    p.text(s, f"Please proceed to {call.counter_name.en}", L.hero_counter_en, text, face="regular",
           align="center", name="hero_counter_en", drawn=d)
    if call.service_name and not call.private:  # sensitive services: number and counter only
        p.text(s, f"{call.service_name.zh}  {call.service_name.en}", L.hero_service, muted, face="regular",
               align="center", name="hero_service", drawn=d)


def _counters(s: pygame.Surface, p: Painter, L: Layout, st: BoardState, now: float, d: list[Drawn]) -> None:
    p.text(s, "各櫃台目前號碼  Now at each counter", L.counters_title, MUTED, name="counters_title", drawn=d)
    hot = st.hero.counter_id if (st.hero and fresh(st, now, FLASH_S)) else None
    for cell, c in zip(L.counters, st.counters, strict=False):
        r = max(4, cell.box.h // 10)
        _fill(s, cell.box, PANEL if c.open else PANEL_DARK, r)
        if c.id == hot:
            pygame.draw.rect(s, ACCENT, pygame.Rect(*cell.box), width=max(2, cell.box.h // 25), border_radius=r)
        p.text(s, c.name.zh, cell.name, MUTED if c.open else CLOSED, align="center", name=f"counter_{c.id}_name",
               drawn=d)
        if not c.open and not c.number:
            p.text(s, "暫停 Closed", cell.number, CLOSED, align="center", name=f"counter_{c.id}_number", drawn=d)
        else:
            color = PRIORITY if c.priority else (ACCENT if c.number else MUTED)
            p.text(s, c.number or "—", cell.number, color, align="center", ink=bool(c.number),
                   name=f"counter_{c.id}_number", drawn=d)


def _recent(s: pygame.Surface, p: Painter, L: Layout, st: BoardState, d: list[Drawn]) -> None:
    p.text(s, "剛才叫號  Recent calls", L.recent_title, MUTED, name="recent_title", drawn=d)
    for i, (row, call) in enumerate(zip(L.recent, st.recent, strict=False)):
        _fill(s, row.box.inset(0, max(1, row.box.h // 20)), PANEL if i % 2 == 0 else PANEL_DARK, 6)
        p.text(s, call.number, row.number, ACCENT, ink=True, name=f"recent_{i}_number", drawn=d)
        c = row.counter
        p.text(s, call.counter_name.zh, Box(c.x, c.y, c.w, round(c.h * 0.6)), TEXT, name=f"recent_{i}_counter",
               drawn=d)
        p.text(s, call.counter_name.en, Box(c.x, c.y + round(c.h * 0.63), c.w, round(c.h * 0.37)), MUTED,
               face="regular", name=f"recent_{i}_counter_en", drawn=d)


def _services(s: pygame.Surface, p: Painter, L: Layout, st: BoardState, d: list[Drawn]) -> None:
    p.text(s, "等候人數・預估時間  Waiting・Est. wait", L.services_title, MUTED, name="services_title", drawn=d)
    for i, (row, sv) in enumerate(zip(L.services, st.services, strict=False)):
        _fill(s, row.box.inset(0, max(1, row.box.h // 20)), PANEL if i % 2 == 0 else PANEL_DARK, 6)
        color = TEXT if sv.open else CLOSED
        p.text(s, sv.name.zh, row.name, color, name=f"service_{sv.id}_name", drawn=d)
        p.text(s, sv.name.en, row.name_en, MUTED if sv.open else CLOSED, face="regular",
               name=f"service_{sv.id}_name_en", drawn=d)
        p.text(s, f"{sv.waiting} 人", row.waiting, color, align="right", name=f"service_{sv.id}_waiting", drawn=d)
        zh, en = minutes_text(sv.estimated_wait_s, sv.waiting, sv.open)
        w = row.wait
        p.text(s, zh, Box(w.x, w.y, w.w, round(w.h * 0.56)), ACCENT if sv.open else CLOSED, align="right",
               name=f"service_{sv.id}_wait", drawn=d)
        p.text(s, en, Box(w.x, w.y + round(w.h * 0.58), w.w, round(w.h * 0.42)), MUTED, face="regular",
               align="right", name=f"service_{sv.id}_wait_en", drawn=d)


def _marquee(s: pygame.Surface, p: Painter, L: Layout, st: BoardState, now: float, d: list[Drawn]) -> None:
    box = L.marquee
    inner = box.inset(round(box.h * 0.12), round(box.h * 0.16))
    if st.hero and fresh(st, now, INTERRUPT_S):
        # A call interrupts the announcements: people who cannot hear it read it here.
        _fill(s, box, ACCENT)
        zh, en = call_sentence(st.hero)
        p.text(s, f"{zh}　{en}", inner, HERO_BG, align="center", name="marquee_call", drawn=d)
        return
    _fill(s, box, PANEL_DARK)
    if not st.announcements:
        return
    text = "　　◆　　".join(f"{a.zh}　{a.en}" for a in st.announcements)
    size, _ = p.fit("國", 10_000, inner.h)
    surf, r = p._render(text, size, TEXT, "bold")
    gap = box.w // 3
    period = r.w + gap
    offset = (now * MARQUEE_SPEED * box.w) % period
    ref = p._face("bold").get_rect(REF, size=size)
    y = inner.y + (inner.h - ref.h) / 2 + ref.y - r.y
    prev = s.get_clip()
    s.set_clip(pygame.Rect(*inner))
    x = inner.x + inner.w - offset
    while x > inner.x - r.w:  # enough copies to fill the strip as the text wraps around
        s.blit(surf, (round(x), round(y)))
        x -= period
    s.set_clip(prev)
    d.append(Drawn("marquee", inner, inner, text))


def _media(s: pygame.Surface, L: Layout, media: MediaSource, now: float, d: list[Drawn]) -> None:
    box = L.media
    if box.w < 16 or box.h < 9:
        return
    _fill(s, box, HERO_BG)
    img = media.surface(now, (box.w, box.h))
    if img is None:
        return  # being prepared in its thread: the region stays dark, the frame is not held up
    w, h = img.get_size()
    x, y = box.x + (box.w - w) // 2, box.y + (box.h - h) // 2
    s.blit(img, (x, y))
    d.append(Drawn("media", box, Box(x, y, w, h)))


def _offline(s: pygame.Surface, p: Painter, L: Layout, st: BoardState, d: list[Drawn]) -> None:
    # Dim everything below the header, so no number looks current, then say why in red.
    veil = pygame.Surface((L.width, L.height - L.header.h), pygame.SRCALPHA)
    veil.fill((0, 0, 0, 150))
    s.blit(veil, (0, L.header.h))
    b = L.banner
    _fill(s, b, BANNER)
    inner = b.inset(round(b.h * 0.1), round(b.h * 0.08))
    p.text(s, "未連線  Not connected", Box(inner.x, inner.y, inner.w, round(inner.h * 0.58)), (255, 255, 255),
           align="center", name="banner", drawn=d)
    detail = "號碼可能不是最新的，請洽服務台  Numbers may be out of date — please ask at the front desk"
    if st.link_error:
        detail = f"{detail}  ({st.link_error})"
    p.text(s, detail, Box(inner.x, inner.y + round(inner.h * 0.64), inner.w, round(inner.h * 0.36)),
           (255, 235, 235), face="regular", align="center", name="banner_detail", drawn=d)
