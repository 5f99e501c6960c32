"""Where everything goes on the kiosk screen (issue #3): `screen_layout(w, h, ...)`, pure arithmetic.

Boxes for 800×480, 1024×600, 1280×720 and anything between; no pygame, no fonts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from display.layout import Box

SIZES = ((800, 480), (1024, 600), (1280, 720))  # the Pi touch display, 7" panels, small HDMI monitors
DEFAULT_SIZE = SIZES[0]


@dataclass(frozen=True)
class RowBoxes:
    box: Box
    lamp: Box  # the circle with the button's number
    name: Box
    name_en: Box
    waiting: Box
    waiting_en: Box
    wait: Box
    wait_en: Box
    lane: Box | None = None  # full rows only; compact rows fold the lane into the name
    status: Box | None = None
    status_en: Box | None = None


@dataclass(frozen=True)
class ScreenLayout:
    width: int
    height: int
    compact: bool  # the issued number takes the top; the buttons shrink to tiles
    header: Box | None
    office: Box | None
    office_en: Box | None
    hero: Box | None
    hero_number: Box | None
    hero_side: tuple[Box, ...]  # four zh-TW / English pairs beside the number
    rows: tuple[RowBoxes, ...]
    banner: Box
    banner_tag: Box | None
    banner_text: Box
    clock: Box | None = None  # the hub's time, right of the office's name (not while a number is shown)
    clock_date: Box | None = None


def box_at(x: float, y: float, w: float, h: float) -> Box:
    """A box at whole pixels; a negative size becomes 0."""
    return Box(round(x), round(y), max(0, round(w)), max(0, round(h)))


def _split(b: Box, fractions: tuple[float, ...], gap: int) -> list[Box]:
    """`b` cut left to right into columns of these shares of its width (after the gaps)."""
    room = b.w - gap * (len(fractions) - 1)
    out, x = [], float(b.x)
    for f in fractions:
        out.append(box_at(x, b.y, room * f, b.h))
        x += room * f + gap
    return out


def two_lines(b: Box, top: float = 0.56, bottom: float = 0.38) -> tuple[Box, Box]:
    """A zh-TW line above its English line."""
    return box_at(b.x, b.y, b.w, b.h * top), box_at(b.x, b.y + b.h * (1 - bottom), b.w, b.h * bottom)


def _row(b: Box, compact: bool) -> RowBoxes:
    pad = max(3, round(b.h * 0.09))
    inner = b.inset(pad)
    lamp = box_at(inner.x, inner.y + (inner.h - inner.h * 0.86) / 2, inner.h * 0.86, inner.h * 0.86)
    rest = box_at(lamp.x + lamp.w + pad, inner.y, inner.x + inner.w - lamp.x - lamp.w - pad, inner.h)
    if compact:
        name, waiting, wait = _split(rest, (0.54, 0.17, 0.29), pad)
        return RowBoxes(b, lamp, *two_lines(name), *two_lines(waiting), *two_lines(wait))
    name, lane, waiting, wait, status = _split(rest, (0.38, 0.15, 0.13, 0.18, 0.16), pad)
    st, st_en = two_lines(status)
    return RowBoxes(b, lamp, *two_lines(name), *two_lines(waiting), *two_lines(wait),
                    lane=lane, status=st, status_en=st_en)


def _grid(area: Box, n: int, cols: int, gap: int, max_h: float) -> list[Box]:
    rows = max(1, math.ceil(n / cols))
    w, h = (area.w - gap * (cols - 1)) / cols, min(max_h, (area.h - gap * (rows - 1)) / rows)
    return [box_at(area.x + (i % cols) * (w + gap), area.y + (i // cols) * (h + gap), w, h) for i in range(n)]


BANNER_SHARE = {"error": 0.22, "warning": 0.16}  # of the screen height; info: 0.13
NUMBER_SHARE = 0.38  # the issued number's box, of the screen height (its digits fill it)


def screen_layout(w: int, h: int, n_buttons: int, *, issued: bool = False, level: str = "info") -> ScreenLayout:
    m = max(4, round(min(w, h) * 0.02))
    bh = round(h * BANNER_SHARE.get(level, 0.13))
    banner = Box(m, h - m - bh, w - 2 * m, bh)
    bin_ = banner.inset(round(bh * 0.12), round(bh * 0.1))
    tag = None
    text = bin_
    if level in BANNER_SHARE:
        tag = box_at(bin_.x, bin_.y, min(bin_.w * 0.2, bin_.h * 1.6), bin_.h)
        text = box_at(tag.x + tag.w + m, bin_.y, bin_.x + bin_.w - tag.x - tag.w - m, bin_.h)
    rows_bottom = banner.y - m
    if issued:
        nh = round(h * NUMBER_SHARE)
        hero = Box(m, m, w - 2 * m, nh + 2 * m)
        inner = hero.inset(m)
        nw = min(round(inner.w * 0.78), round(nh * 3.25))
        number = Box(inner.x + inner.w - nw, inner.y, nw, nh)
        side = box_at(inner.x, inner.y, inner.w - nw - m, nh)
        step = side.h / 4
        sides: list[Box] = []
        for i in range(4):
            zh, en = two_lines(box_at(side.x, side.y + i * step, side.w, step * 0.94), 0.52, 0.40)
            sides += [zh, en]
        area = Box(m, hero.y + hero.h + m, w - 2 * m, rows_bottom - hero.y - hero.h - m)
        cols = 1 if n_buttons <= 2 else 2 if n_buttons <= 8 else 3
        rows = tuple(_row(b, True) for b in _grid(area, n_buttons, cols, m, h * 0.14))
        return ScreenLayout(w, h, True, None, None, None, hero, number, tuple(sides), rows, banner, tag, text)
    header = Box(0, 0, w, round(h * 0.11))
    hin = header.inset(m + round(header.h * 0.1), round(header.h * 0.1))
    name_box, clock_box = _split(hin, (0.7, 0.3), m)
    office, office_en = two_lines(name_box, 0.58, 0.38)
    clock, clock_date = two_lines(clock_box, 0.58, 0.38)
    area = Box(m, header.h + m, w - 2 * m, rows_bottom - header.h - m)
    cols = 1 if n_buttons <= 6 else 2
    # Few buttons do not make giant rows: the same size of text whatever the panel holds.
    rows = tuple(_row(b, cols > 1) for b in _grid(area, n_buttons, cols, max(3, m // 2), h * 0.16))
    return ScreenLayout(w, h, cols > 1, header, office, office_en, None, None, (), rows, banner, tag, text,
                        clock, clock_date)


# The booking keypad (issue 11): digits first (most codes are digits), letters in alphabetical order (easier
# to find than QWERTY for someone who rarely types), then the actions. Each key at least 1/11 of the width.
KEYPAD_ROWS: tuple[tuple[str, ...], ...] = (
    tuple("1234567890"), tuple("ABCDEFGHIJ"), tuple("KLMNOPQRST"), (*"UVWXYZ-", "back"), ("clear", "cancel", "ok"),
)
KEY_SPAN = {"back": 3, "clear": 3, "cancel": 3, "ok": 4}  # in columns of the 10-column grid


@dataclass(frozen=True)
class KeypadLayout:
    width: int
    height: int
    prompt: Box
    prompt_en: Box
    entry: Box
    keys: tuple[tuple[str, Box], ...]
    banner: Box
    banner_tag: Box | None
    banner_text: Box

    def key_at(self, x: float, y: float) -> str | None:
        for key, b in self.keys:
            if b.x <= x < b.x + b.w and b.y <= y < b.y + b.h:
                return key
        return None


def keypad_layout(w: int, h: int, *, level: str = "info") -> KeypadLayout:
    base = screen_layout(w, h, 1, level=level)
    m = max(4, round(min(w, h) * 0.02))
    top = Box(m, m, w - 2 * m, round(h * 0.15))
    prompt_box, entry = _split(top, (0.42, 0.58), m)
    prompt, prompt_en = two_lines(prompt_box, 0.55, 0.38)
    area = Box(m, top.y + top.h + m, w - 2 * m, base.banner.y - m - (top.y + top.h + m))
    gap = max(3, m // 2)
    rows = len(KEYPAD_ROWS)
    kh = (area.h - gap * (rows - 1)) / rows
    col = (area.w - gap * 9) / 10
    keys: list[tuple[str, Box]] = []
    for r, row in enumerate(KEYPAD_ROWS):
        x = float(area.x)
        y = area.y + r * (kh + gap)
        spans = [KEY_SPAN.get(k, 1) for k in row]
        if r == rows - 1:  # the action row fills the width
            scale = 10 / sum(spans)
            spans = [s * scale for s in spans]
        for k, span in zip(row, spans, strict=True):
            kw = col * span + gap * (span - 1)
            keys.append((k, box_at(x, y, kw, kh)))
            x += kw + gap
    return KeypadLayout(w, h, prompt, prompt_en, entry, tuple(keys), base.banner, base.banner_tag, base.banner_text)
