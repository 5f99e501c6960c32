"""A decoder for the ESC/POS subset the kiosk emits, so tests can look at what a printer would print.

No installable ESC/POS-to-image decoder exists for Python (shared/reference/libraries.md 1.8), and
checking our bytes with the library that produced them would prove little, so this one is our own.
It understands ESC @, ESC a, ESC d, LF, GS v 0 (raster image), GS V (cut), GS ( k (native QR) and
DLE EOT (status query); anything else is reported as unknown rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageChops


@dataclass
class Ticket:
    """One piece of paper: the rasters printed before a cut, stacked top to bottom."""

    image: Image.Image | None
    events: list[tuple[object, ...]] = field(default_factory=list)
    cut: bool = False


@dataclass
class Decoded:
    events: list[tuple[object, ...]]
    tickets: list[Ticket]


class DecodeError(ValueError):
    pass


def _stack(rasters: list[Image.Image]) -> Image.Image | None:
    if not rasters:
        return None
    width = max(r.width for r in rasters)
    out = Image.new("1", (width, sum(r.height for r in rasters)), 1)
    y = 0
    for r in rasters:
        out.paste(r, (0, y))
        y += r.height
    return out


def decode(buf: bytes) -> Decoded:
    i, events = 0, []
    tickets: list[Ticket] = []
    rasters: list[Image.Image] = []
    current: list[tuple[object, ...]] = []

    def emit(ev: tuple[object, ...]) -> None:
        events.append(ev)
        current.append(ev)

    while i < len(buf):
        if buf.startswith(b"\x1dv0", i):  # GS v 0 m xL xH yL yH d1...dk
            if i + 8 > len(buf):
                raise DecodeError(f"truncated GS v 0 header at byte {i}")
            m, xl, xh, yl, yh = buf[i + 3:i + 8]
            wbytes, h = xl + 256 * xh, yl + 256 * yh
            end = i + 8 + wbytes * h
            if end > len(buf):
                raise DecodeError(f"truncated raster at byte {i}: needs {wbytes * h} bytes")
            # In ESC/POS a 1 bit is a black dot; in a Pillow "1" image 1 is white: invert.
            img = Image.frombytes("1", (wbytes * 8, h), buf[i + 8:end])
            rasters.append(ImageChops.invert(img.convert("L")).convert("1"))
            emit(("raster", wbytes * 8, h, m))
            i = end
        elif buf.startswith(b"\x1d(k", i):  # GS ( k pL pH cn fn ...
            pl, ph = buf[i + 3], buf[i + 4]
            body = buf[i + 5:i + 5 + pl + 256 * ph]
            if body[:2] == b"1P":
                emit(("qr_data", body[3:].decode("utf-8", "replace")))
            i += 5 + pl + 256 * ph
        elif buf.startswith(b"\x1dV", i):  # GS V m [n]
            m = buf[i + 2]
            emit(("cut", m))
            i += 4 if m in (65, 66) else 3
            tickets.append(Ticket(_stack(rasters), list(current), cut=True))
            rasters, current = [], []
        elif buf.startswith(b"\x1bd", i):
            emit(("feed", buf[i + 2]))
            i += 3
        elif buf.startswith(b"\x1ba", i):
            emit(("align", buf[i + 2]))
            i += 3
        elif buf.startswith(b"\x1b@", i):
            emit(("init",))
            i += 2
        elif buf.startswith(b"\x10\x04", i):
            emit(("status_query", buf[i + 2]))
            i += 3
        elif buf[i] == 0x0A:
            emit(("lf",))
            i += 1
        else:
            emit(("unknown", buf[i]))
            i += 1
    if rasters or current:
        tickets.append(Ticket(_stack(rasters), list(current), cut=False))
    return Decoded(events, tickets)


def _runs(values: list[bool]) -> list[tuple[bool, int, int]]:
    """(dark, start, length) runs of a row or column of pixels."""
    out: list[tuple[bool, int, int]] = []
    for i, v in enumerate(values):
        if out and out[-1][0] == v:
            out[-1] = (v, out[-1][1], out[-1][2] + 1)
        else:
            out.append((v, i, 1))
    return out


def _finders(values: list[bool]) -> list[tuple[int, float]]:
    """Where a line crosses a finder pattern: dark:light:dark:light:dark = 1:1:3:1:1 -> (start, module)."""
    runs, found = _runs(values), []
    for k in range(len(runs) - 4):
        five = runs[k:k + 5]
        if not five[0][0]:
            continue
        m = sum(r[2] for r in five) / 7
        if m >= 2 and all(abs(r[2] - want * m) <= m / 2 for r, want in zip(five, (1, 1, 3, 1, 1), strict=True)):
            found.append((five[0][1], m))
    return found


def qr_modules(image: Image.Image) -> list[list[bool]]:
    """Read the module grid of a QR code printed at whole-pixel module size, as a scanner would see it.

    Finds the top-left finder pattern (a row and a column both cross it 1:1:3:1:1), takes the size
    from the top-right one, and samples each module's centre. True is dark. Tests compare the grid
    with the one the expected URL encodes to, which differs for any other payload.
    """
    img = image.convert("1")
    w, h = img.size
    px = img.load()
    for y in range(h):
        hits = _finders([px[x, y] == 0 for x in range(w)])
        if len(hits) < 2:
            continue
        x0, m = hits[0]
        cx = int(x0 + 3.5 * m)
        # The row crosses the finder's middle; its top edge is where the column's 1:1:3:1:1 starts.
        tops = [(y0, mv) for y0, mv in _finders([px[cx, yy] == 0 for yy in range(h)]) if y0 <= y < y0 + 7 * mv]
        if not tops:
            continue
        y0 = tops[0][0]
        middle = _finders([px[x, int(y0 + 3.5 * m)] == 0 for x in range(w)])
        if len(middle) < 2 or middle[0][0] != x0:
            continue
        x1, m1 = middle[-1]
        box = round(m)
        n = round((x1 + 7 * m1 - x0) / box)
        return [[px[x0 + c * box + box // 2, y0 + r * box + box // 2] == 0 for c in range(n)] for r in range(n)]
    raise DecodeError("no QR code found in the image")
