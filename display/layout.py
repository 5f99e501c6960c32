"""Where everything goes, for any screen size: pure arithmetic, no pygame (render.py draws).

Landscape (1920×1080, 1280×720): a header, the called number large on the left with every counter
below it, recent calls and queues on the right, the marquee along the bottom. Portrait (a TV turned
on its side): the same blocks stacked. Every text has its own box; render.py never draws outside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

# The smallest font sizes (px on a 1080-pixel side; scaled with the screen) of the waiting list's text when
# media share its column: visitors, many of them elderly, read it from across the hall (docs/display.md).
MIN_TEXT_PX = {"zh": 24, "en": 18}
# The row heights (in 1% of the screen's height; portrait: of its height too) at which a service row's text is
# drawn at MIN_TEXT_PX or more: tests/test_display_layout_media.py measures the fonts drawn in them.
ROW_MIN_U = 6.4
ROW_MIN_U_PORTRAIT = 3.6


class Box(NamedTuple):
    x: int
    y: int
    w: int
    h: int

    def inset(self, dx: int, dy: int | None = None) -> Box:
        dy = dx if dy is None else dy
        return Box(self.x + dx, self.y + dy, max(0, self.w - 2 * dx), max(0, self.h - 2 * dy))

    def contains(self, other: Box) -> bool:
        return (self.x <= other.x and self.y <= other.y and other.x + other.w <= self.x + self.w
                and other.y + other.h <= self.y + self.h)


def _box(x: float, y: float, w: float, h: float) -> Box:
    return Box(round(x), round(y), max(0, round(w)), max(0, round(h)))


@dataclass(frozen=True)
class CounterCell:
    box: Box
    name: Box
    number: Box


@dataclass(frozen=True)
class RecentRow:
    box: Box
    number: Box
    counter: Box


@dataclass(frozen=True)
class ServiceRow:
    box: Box
    name: Box
    name_en: Box
    waiting: Box
    wait: Box


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    portrait: bool
    header: Box
    office: Box
    office_en: Box
    date: Box
    date_en: Box
    time: Box
    hero: Box
    hero_label: Box
    hero_badge: Box
    hero_number: Box
    hero_counter: Box
    hero_counter_en: Box
    hero_service: Box
    counters_title: Box
    counters: list[CounterCell] = field(default_factory=list)
    recent_title: Box = Box(0, 0, 0, 0)
    recent: list[RecentRow] = field(default_factory=list)
    services_title: Box = Box(0, 0, 0, 0)
    services: list[ServiceRow] = field(default_factory=list)
    marquee: Box = Box(0, 0, 0, 0)
    banner: Box = Box(0, 0, 0, 0)
    media: Box = Box(0, 0, 0, 0)  # the office's images in rotation (display/media.py); empty without any


def _grid(area: Box, n: int, gap: int, aspect: float = 2.4) -> list[Box]:
    """n cells filling `area`, with a column count that keeps cells near `aspect` (width/height)."""
    if n <= 0 or area.w <= 0 or area.h <= 0:
        return []
    best = 1
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        w, h = (area.w - gap * (cols - 1)) / cols, (area.h - gap * (rows - 1)) / rows
        bw = (area.w - gap * (best - 1)) / best
        bh = (area.h - gap * (math.ceil(n / best) - 1)) / math.ceil(n / best)
        if abs(math.log(w / h / aspect)) < abs(math.log(bw / bh / aspect)):
            best = cols
    cols, rows = best, math.ceil(n / best)
    w, h = (area.w - gap * (cols - 1)) / cols, (area.h - gap * (rows - 1)) / rows
    return [_box(area.x + (i % cols) * (w + gap), area.y + (i // cols) * (h + gap), w, h) for i in range(n)]


def _counter_cells(area: Box, n: int, gap: int) -> list[CounterCell]:
    out = []
    for b in _grid(area, n, gap):
        pad = max(2, round(b.h * 0.06))
        inner = b.inset(pad)
        out.append(CounterCell(b, _box(inner.x, inner.y, inner.w, inner.h * 0.36),
                               _box(inner.x, inner.y + inner.h * 0.40, inner.w, inner.h * 0.60)))
    return out


def _recent_rows(area: Box, n: int, row_h: float) -> list[RecentRow]:
    out = []
    for i in range(n):
        b = _box(area.x, area.y + i * row_h, area.w, row_h)
        inner = b.inset(round(b.h * 0.1))
        out.append(RecentRow(b, _box(inner.x, inner.y + inner.h * 0.06, inner.w * 0.34, inner.h * 0.88),
                             _box(inner.x + inner.w * 0.38, inner.y, inner.w * 0.62, inner.h)))
    return out


def _service_rows(area: Box, n: int, max_row_h: float) -> list[ServiceRow]:
    """Each row: the name in zh-TW over its English, the people waiting, the wait in zh-TW over English. The
    English lines get 42% of the row's height (the visitors read them from across the hall too)."""
    if n <= 0:
        return []
    row_h = min(max_row_h, area.h / n)
    out = []
    for i in range(n):
        b = _box(area.x, area.y + i * row_h, area.w, row_h)
        inner = b.inset(round(b.h * 0.06))
        out.append(ServiceRow(
            b,
            name=_box(inner.x, inner.y, inner.w * 0.56, inner.h * 0.56),
            name_en=_box(inner.x, inner.y + inner.h * 0.58, inner.w * 0.56, inner.h * 0.42),
            waiting=_box(inner.x + inner.w * 0.58, inner.y + inner.h * 0.1, inner.w * 0.17, inner.h * 0.8),
            wait=_box(inner.x + inner.w * 0.77, inner.y, inner.w * 0.23, inner.h),
        ))
    return out


@dataclass(frozen=True)
class _Column:
    """How the column beside (landscape) or below (portrait) the counters is shared out with media."""

    n_recent: int
    row_h: float  # a service row's height
    media_h: float  # 0: no room for a picture of useful size beside the list (render leaves it out)


def _share(height: float, n_services: int, n_recent: int, *, title_h: float, gap: float,
           recent_h: float, row_min: float, row_max: float, media_min: float, media_max: float) -> _Column:
    """With media, the waiting list keeps rows of at least `row_min` (its text MIN_TEXT_PX); recent calls get
    only the rows they fill (at most 3), fewer if the media would be smaller than `media_min`; the media takes
    the rest up to `media_max`, and what is left after that widens the rows again up to `row_max`."""
    services = title_h + n_services * row_min
    for n in range(min(n_recent, 3), -1, -1):
        recent = (title_h + n * recent_h + gap) if n else 0.0
        media = height - recent - services - gap
        if media >= media_min:
            media = min(media, media_max)
            rest = height - recent - media - gap - title_h
            return _Column(n, min(row_max, rest / max(1, n_services)), media)
    # Even without recent calls the list and a picture do not both fit readably: the list wins, the media
    # region is left out (docs/display.md).
    n = min(n_recent, 3)
    return _Column(n, row_max, 0.0)


def _hero(panel: Box, unit: float) -> dict[str, Box]:
    """The hero panel's inner boxes; `unit` is 1% of the screen height."""
    p = panel.inset(round(unit * 1.5), round(unit * 1.0))
    y = p.y
    label = _box(p.x, y, p.w * 0.55, unit * 5)
    badge = _box(p.x + p.w * 0.57, y, p.w * 0.43, unit * 5)
    y += unit * 5.5
    rest = p.y + p.h - y
    # The number takes over half of what is left: ≥ 140 px tall digits on 1080p (issue #4).
    number = _box(p.x, y, p.w, rest * 0.56)
    y += rest * 0.58
    counter = _box(p.x, y, p.w, rest * 0.21)
    y += rest * 0.22
    counter_en = _box(p.x, y, p.w, rest * 0.11)
    y += rest * 0.12
    service = _box(p.x, y, p.w, p.y + p.h - y)
    return dict(hero_label=label, hero_badge=badge, hero_number=number, hero_counter=counter,
                hero_counter_en=counter_en, hero_service=service)


def layout(width: int, height: int, n_counters: int, n_services: int, n_recent: int = 5,
           media: bool = False) -> Layout:
    """`media`: make room for the media region. It comes out of the right column (landscape) or the
    services block (portrait), never out of the called number or the counters: the call stays readable;
    nor out of the waiting list's text (MIN_TEXT_PX): recent calls keep only the `n_recent` rows they fill
    and the media region shrinks, or is left out (`media` empty) when even its smallest does not fit."""
    if height > width:
        return _portrait(width, height, n_counters, n_services, n_recent, media)
    W, H = width, height
    u = H / 100  # 1% of the height: every size is relative, so 720p is 1080p scaled
    m = round(u * 1.2)
    header = _box(0, 0, W, u * 10)
    marquee = _box(0, H - u * 7.5, W, u * 7.5)
    top, bottom = header.h + m, marquee.y - m
    left_w = W * 0.60
    hero = _box(m, top, left_w, u * 50)
    counters_title = _box(m, hero.y + hero.h + m * 0.6, left_w, u * 3.6)
    grid = _box(m, counters_title.y + counters_title.h + m * 0.4, left_w, bottom - (counters_title.y +
                                                                                     counters_title.h + m * 0.4))
    rx = m + left_w + m * 1.5
    rw = W - rx - m
    media_box = Box(0, 0, 0, 0)
    row_max = u * 7.5
    recent_title = _box(rx, top, rw, u * 4.2)
    if media:  # the media region shrinks (or goes) before the waiting list's text does
        col = _share(bottom - top, n_services, n_recent, title_h=u * 4.2, gap=m, recent_h=u * 5.6,
                     row_min=u * ROW_MIN_U, row_max=row_max, media_min=u * 18, media_max=min(rw * 9 / 16, u * 32))
        n_recent, row_max = col.n_recent, col.row_h
        if col.media_h:
            media_box = _box(rx, bottom - col.media_h, rw, col.media_h)
            bottom = media_box.y - m
        if not n_recent:
            recent_title = _box(rx, top - m, rw, 0)  # no calls yet: the list starts at the top
    recent_area = _box(rx, recent_title.y + recent_title.h, rw, u * 5.6 * n_recent)
    services_title = _box(rx, recent_area.y + recent_area.h + m, rw, u * 4.2)
    services_area = _box(rx, services_title.y + services_title.h, rw, bottom - (services_title.y + services_title.h))
    time_box = _box(W - m - W * 0.10, u * 1.5, W * 0.10, u * 7)
    return Layout(
        width=W, height=H, portrait=False, header=header,
        office=_box(m, u * 1.2, W * 0.56, u * 5.2),
        office_en=_box(m, u * 6.7, W * 0.56, u * 2.6),
        date=_box(W * 0.60, u * 1.2, time_box.x - W * 0.60 - m, u * 4.6),
        date_en=_box(W * 0.60, u * 6.3, time_box.x - W * 0.60 - m, u * 2.8),
        time=time_box,
        hero=hero, **_hero(hero, u),
        counters_title=counters_title,
        counters=_counter_cells(grid, n_counters, round(m * 0.5)),
        recent_title=recent_title,
        recent=_recent_rows(recent_area, n_recent, u * 5.6),
        services_title=services_title,
        services=_service_rows(services_area, n_services, row_max),
        marquee=marquee,
        banner=_box(0, header.h, W, u * 13),
        media=media_box,
    )


def _portrait(W: int, H: int, n_counters: int, n_services: int, n_recent: int, media: bool) -> Layout:
    u = H / 100
    m = round(W * 0.02)
    header = _box(0, 0, W, u * 8)
    marquee = _box(0, H - u * 5, W, u * 5)
    hero = _box(m, header.h + m, W - 2 * m, u * 27)
    counters_title = _box(m, hero.y + hero.h + m * 0.6, W - 2 * m, u * 2.2)
    grid = _box(m, counters_title.y + counters_title.h + m * 0.4, W - 2 * m, u * 17)
    n_recent = min(n_recent, 3)
    top = grid.y + grid.h + m
    recent_title = _box(m, top, W - 2 * m, u * 2.6)
    bottom = marquee.y - m
    media_box = Box(0, 0, 0, 0)
    row_max = u * 4.6
    if media:  # as in landscape: the media region shrinks (or goes) before the waiting list's text does
        col = _share(bottom - top, n_services, n_recent, title_h=u * 2.6, gap=m, recent_h=u * 3.4,
                     row_min=u * ROW_MIN_U_PORTRAIT, row_max=row_max, media_min=u * 8,
                     media_max=min((W - 2 * m) * 9 / 16, u * 14))
        n_recent, row_max = col.n_recent, col.row_h
        if col.media_h:
            media_box = _box(m, bottom - col.media_h, W - 2 * m, col.media_h)
            bottom = media_box.y - m
        if not n_recent:
            recent_title = _box(m, top - m, W - 2 * m, 0)
    recent_area = _box(m, recent_title.y + recent_title.h, W - 2 * m, u * 3.4 * n_recent)
    services_title = _box(m, recent_area.y + recent_area.h + m, W - 2 * m, u * 2.6)
    services_area = _box(m, services_title.y + services_title.h, W - 2 * m,
                         bottom - (services_title.y + services_title.h))
    time_box = _box(W - m - W * 0.22, u * 0.8, W * 0.22, u * 3.6)
    return Layout(
        width=W, height=H, portrait=True, header=header,
        office=_box(m, u * 0.8, time_box.x - 2 * m, u * 3.4),
        office_en=_box(m, u * 4.6, W * 0.50, u * 1.6),
        date=_box(W * 0.54, u * 4.5, W * 0.46 - m, u * 1.9),
        date_en=_box(W * 0.54, u * 6.4, W * 0.46 - m, u * 1.3),
        time=time_box,
        hero=hero, **_hero(hero, u * 0.62),
        counters_title=counters_title,
        counters=_counter_cells(grid, n_counters, round(m * 0.4)),
        recent_title=recent_title,
        recent=_recent_rows(recent_area, n_recent, u * 3.4),
        services_title=services_title,
        services=_service_rows(services_area, n_services, row_max),
        marquee=marquee,
        banner=_box(0, header.h, W, u * 8),
        media=media_box,
    )
