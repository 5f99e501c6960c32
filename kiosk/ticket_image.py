"""The printed ticket as one 1-bit Pillow image: no printer font or code page is involved.

Printing text through python-escpos would send GB18030 (its magic encoder) which a Taiwan-market
printer prints as garbage; an image prints the same everywhere. The font is Noto Sans CJK with the
Traditional Chinese face that server/wire/fonts.py finds: the default face 0 draws 請 號 櫃 戶 the Japanese way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import qrcode
from PIL import Image, ImageDraw, ImageFont

from server.wire import fonts
from server.wire.text import Text

# Characters that must not begin a line (Chinese typesetting rule 避頭點).
_NO_LINE_START = set("，。、．・；：？！）」』】〕,.;:?!)]」%")


@dataclass(frozen=True)
class TicketContent:
    office: Text
    service: Text
    number: str
    lane: Text | None  # shown only for a priority lane
    priority: bool
    ahead: int | None
    wait_range_s: tuple[int, int] | None
    issued_at: datetime  # in the office's local time
    status_url: str
    footer: Text | None = None
    appointment_slot: datetime | None = None  # a checked-in booking's slot (office-local): printed as 預約
    note: Text | None = None  # one line saying why, e.g. a booking that lapsed became an ordinary ticket


def _text(value: Any, fallback: str) -> Text:
    return Text.maybe(value) or Text(fallback, fallback)


def content_from_ticket(
    ticket: dict[str, Any], office: Text, status_url: str, footer: Text | None, note: Text | None = None
) -> TicketContent:
    """The hub's Ticket JSON (with its extensions) to what goes on paper.

    service_name is already the neutral public name for private services (疼您), so it is used
    as is; the service id is never printed.
    """
    rng = ticket.get("estimated_wait_range_s")
    lane = ticket.get("lane_name")
    priority = bool(ticket.get("priority"))
    appointment = ticket.get("appointment")
    slot = None
    if isinstance(appointment, dict) and isinstance(appointment.get("slot"), str):
        slot = _slot(appointment["slot"], ticket["issued_at"])
    return TicketContent(
        office=office,
        service=_text(ticket.get("service_name"), "服務 Service"),
        number=str(ticket["number"]),
        lane=_text(lane, str(ticket.get("lane", ""))) if priority else None,
        priority=priority,
        ahead=ticket.get("ahead"),
        wait_range_s=(int(rng[0]), int(rng[1])) if isinstance(rng, list) and len(rng) == 2 else None,
        issued_at=datetime.fromisoformat(ticket["issued_at"]),
        status_url=status_url,
        footer=footer,
        appointment_slot=slot,
        note=note,
    )


def _slot(slot: str, issued_at: str) -> datetime | None:
    """The slot as the hub sends it ("YYYY-MM-DD HH:MM" office-local, or ISO-8601); None if unreadable."""
    try:
        return datetime.fromisoformat(slot.replace(" ", "T"))
    except ValueError:
        pass
    try:  # a bare HH:MM: the day of the check-in
        t = datetime.strptime(slot, "%H:%M")
        return datetime.fromisoformat(issued_at).replace(hour=t.hour, minute=t.minute, second=0, microsecond=0)
    except ValueError:
        return None


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The TC face at `size` px; FontMissing (one line, exit 1) when Noto Sans CJK is not installed.

    Printing boxes instead of characters is not an option.
    """
    spec = fonts.find("bold" if bold else "regular")
    return ImageFont.truetype(spec.path, size, index=spec.index)


def roc_date(d: datetime) -> str:
    """民國 date as printed on Taiwanese government forms: 115/11/22 for 2026-11-22."""
    return f"{d.year - 1911}/{d.month:02d}/{d.day:02d}"


def wait_text(ahead: int | None, rng: tuple[int, int] | None) -> list[Text]:
    lines: list[Text] = []
    if ahead is not None:
        if ahead == 0:
            lines.append(Text("下一位就是您", "You are next"))
        else:
            lines.append(Text(f"前面還有 {ahead} 人", f"{ahead} people ahead of you" if ahead > 1
                              else "1 person ahead of you"))
    if rng is not None:
        lo, hi = math.floor(rng[0] / 60), math.ceil(rng[1] / 60)
        if hi <= 1:
            lines.append(Text("預估等候 1 分鐘內", "Estimated wait: under 1 min"))
        elif lo == hi:
            lines.append(Text(f"預估等候約 {hi} 分鐘", f"Estimated wait: about {hi} min"))
        else:
            lines.append(Text(f"預估等候 {lo}–{hi} 分鐘", f"Estimated wait: {lo}–{hi} min"))
    elif ahead:
        lines.append(Text("等候時間暫無法預估", "Wait time not known yet"))
    return lines


def wrap(draw: ImageDraw.ImageDraw, text: str, f: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy line breaking: Chinese may break between any two characters, English only at spaces."""
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for ch in para:
            trial = line + ch
            if not line or draw.textlength(trial, font=f) <= width:
                line = trial
                continue
            if ch in _NO_LINE_START:  # pull the last character down with it
                lines.append(line[:-1])
                line = line[-1] + ch
                continue
            cut = line.rfind(" ")
            if ch.isascii() and ch != " " and line[-1].isascii() and cut > 0:
                lines.append(line[:cut])
                line = line[cut + 1:] + ch
            else:
                lines.append(line.rstrip())
                line = ch.lstrip()
        lines.append(line)
    return [s for s in lines if s.strip()]


class _Canvas:
    """Draws top to bottom on a tall grey canvas; `finish()` crops and makes it 1-bit."""

    def __init__(self, width: int) -> None:
        self.w = width
        self.margin = max(12, width // 32)
        self.inner = width - 2 * self.margin
        self.img = Image.new("L", (width, 4000), 255)
        self.draw = ImageDraw.Draw(self.img)
        self.y = self.margin

    def px(self, fraction: float) -> int:
        return max(16, round(self.w * fraction))

    def lines(self, text: str, size: int, bold: bool = False, center: bool = True, gap: float = 0.25) -> None:
        f = font(size, bold)
        for line in wrap(self.draw, text, f, self.inner):
            left, top, right, bottom = self.draw.textbbox((0, 0), line, font=f)
            x = self.margin + (self.inner - (right - left)) // 2 - left if center else self.margin - left
            # Advance by the font's line height, not the ink, so lines keep an even rhythm.
            ascent, descent = f.getmetrics()
            self.draw.text((x, self.y), line, font=f, fill=0)
            self.y += ascent + descent + round(size * gap) - round(size * 0.15)

    def rule(self, thick: int = 2) -> None:
        self.y += 6
        self.draw.rectangle((self.margin, self.y, self.w - self.margin, self.y + thick - 1), fill=0)
        self.y += thick + 10

    def big(self, text: str) -> None:
        """The number as large as the paper allows (with air at the sides), at most 30 % of the width tall."""
        size = self.px(0.30) * 2
        f = font(size, True)
        while size > 20:
            f = font(size, True)
            left, top, right, bottom = self.draw.textbbox((0, 0), text, font=f)
            if right - left <= self.inner * 0.92 and bottom - top <= self.w * 0.30:
                break
            size -= 4
        left, top, right, bottom = self.draw.textbbox((0, 0), text, font=f)
        x = self.margin + (self.inner - (right - left)) // 2 - left
        self.y += 8
        self.draw.text((x, self.y - top), text, font=f, fill=0)
        self.y += bottom - top + 16

    def banner(self, text: str, size: int) -> None:
        """White on black across the paper: the priority mark, visible at a glance."""
        f = font(size, True)
        lines = wrap(self.draw, text, f, self.inner - 16)
        ascent, descent = f.getmetrics()
        height = len(lines) * (ascent + descent) + 12
        self.draw.rectangle((self.margin, self.y, self.w - self.margin, self.y + height), fill=0)
        y = self.y + 6
        for line in lines:
            left, _, right, _ = self.draw.textbbox((0, 0), line, font=f)
            self.draw.text((self.margin + (self.inner - (right - left)) // 2 - left, y), line, font=f, fill=255)
            y += ascent + descent
        self.y += height + 10

    def qr(self, data: str, fraction: float) -> None:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=1)
        code.add_data(data)
        code.make(fit=True)
        matrix = code.get_matrix()  # includes the 4-module quiet zone
        box = max(3, int(self.w * fraction) // len(matrix))
        side = box * len(matrix)
        x0 = (self.w - side) // 2
        for r, row in enumerate(matrix):
            for c, dark in enumerate(row):
                if dark:
                    self.draw.rectangle((x0 + c * box, self.y + r * box, x0 + (c + 1) * box - 1,
                                         self.y + (r + 1) * box - 1), fill=0)
        self.y += side

    def space(self, px: int) -> None:
        self.y += px

    def finish(self) -> Image.Image:
        self.y += self.margin
        if self.y > self.img.height:
            raise ValueError(f"ticket is {self.y} px long; the canvas holds {self.img.height}")
        cropped = self.img.crop((0, 0, self.w, self.y))
        # A hard threshold, not dithering: thermal heads print crisp edges, grey noise looks dirty.
        return cropped.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)


def render_ticket(t: TicketContent, width: int = 576) -> Image.Image:
    """The whole ticket, `width` dots wide (384 for 58 mm paper, 576 for 80 mm); white is 1."""
    if width % 8:
        raise ValueError("the width must be a multiple of 8 dots (ESC/POS rasters are whole bytes)")
    c = _Canvas(width)
    c.lines(t.office.zh, c.px(0.055), bold=True)
    c.lines(t.office.en, c.px(0.034))
    c.rule()
    c.lines(t.service.zh, c.px(0.062), bold=True)
    c.lines(t.service.en, c.px(0.040))
    if t.priority and t.lane:
        c.space(6)
        c.banner(f"優先 {t.lane.zh}  Priority: {t.lane.en}", c.px(0.050))
    if t.appointment_slot:
        c.space(6)
        c.banner("預約 Appointment", c.px(0.050))
    c.big(t.number)
    if t.appointment_slot:
        s = t.appointment_slot
        c.lines(f"預約時段 {roc_date(s)} {s:%H:%M}", c.px(0.048), bold=True, gap=0.1)
        c.lines(f"Appointment {s:%Y-%m-%d} {s:%H:%M}", c.px(0.036))
        c.space(4)
    if t.note:
        c.lines(t.note.zh, c.px(0.044), bold=True, gap=0.1)
        c.lines(t.note.en, c.px(0.034))
        c.space(4)
    for line in wait_text(t.ahead, t.wait_range_s):
        c.lines(line.zh, c.px(0.052), bold=True, gap=0.1)
        c.lines(line.en, c.px(0.036))
    c.space(4)
    hm = t.issued_at.strftime("%H:%M")
    c.lines(f"取號 {roc_date(t.issued_at)} {hm}", c.px(0.044), gap=0.1)
    c.lines(f"Issued {t.issued_at:%Y-%m-%d} {hm}", c.px(0.034))
    c.space(8)
    c.qr(t.status_url, 0.42 if width <= 384 else 0.36)
    c.lines("掃描查詢叫號進度", c.px(0.040), bold=True, gap=0.1)
    c.lines("Scan to follow your number", c.px(0.034))
    if t.footer:
        c.rule(1)
        c.lines(t.footer.zh, c.px(0.036), gap=0.1)
        c.lines(t.footer.en, c.px(0.030))
    return c.finish()


def sample_content(office: Text, service: Text, number: str, lane: Text | None, status_url: str,
                   footer: Text | None, issued_at: datetime) -> TicketContent:
    """A made-up ticket for `jiaohao kiosk preview`: the same layout without a hub or printer."""
    return TicketContent(office=office, service=service, number=number, lane=lane, priority=lane is not None,
                         ahead=8, wait_range_s=(15 * 60, 25 * 60), issued_at=issued_at,
                         status_url=status_url, footer=footer)
