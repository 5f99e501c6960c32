"""Charts drawn on the server as SVG: no script, no external asset, readable in grayscale print.

Each chart is an <svg role="img"> labelled by its <title> and <desc> (what a screen reader says),
with every value written beside its bar or point, so that nothing depends on colour: bars are
dark grey on white, the highlighted ones black with a star, a target is a dashed line.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from itertools import count

_ids = count(1)
FONT = 'font-family="Noto Sans CJK TC, Noto Sans TC, sans-serif"'


def _frame(width: int, height: int, title: str, desc: str, body: list[str], fixed: bool = False) -> str:
    """`fixed`: drawn at its own size (in a table cell, where a width of 100 % would have nothing to fill)."""
    n = next(_ids)
    size = f'width="{width}" height="{height}"' if fixed else f'width="100%" style="max-width:{width}px"'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
            f'{size} aria-labelledby="chart{n}-t chart{n}-d" {FONT}>'
            f'<title id="chart{n}-t">{escape(title)}</title><desc id="chart{n}-d">{escape(desc)}</desc>'
            + "".join(body) + "</svg>")


def _describe(labels: Sequence[str], values: Sequence[float | None], unit: str) -> str:
    return "; ".join(f"{label}: {'—' if v is None else _fmt(v) + unit}" for label, v in zip(labels, values,
                                                                                              strict=True))


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def bars(title: str, labels: Sequence[str], values: Sequence[float | None], unit: str = "",
         height: int = 220) -> str:
    """Vertical bars, one per label (the hours of a day), each with its value above it."""
    slot = 36
    width = max(320, 40 + slot * len(labels))
    top, bottom = 24, height - 28
    peak = max((v for v in values if v), default=1) or 1
    body = [f'<line x1="36" y1="{bottom}" x2="{width - 4}" y2="{bottom}" stroke="#000"/>']
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = 40 + i * slot
        h = 0 if not v else (bottom - top) * v / peak
        body.append(f'<rect x="{x}" y="{bottom - h:.1f}" width="{slot - 10}" height="{h:.1f}" fill="#4d4d4d"/>')
        body.append(f'<text x="{x + (slot - 10) / 2}" y="{bottom - h - 4:.1f}" font-size="11" text-anchor="middle" '
                    f'fill="#000">{"—" if v is None else _fmt(v)}</text>')
        body.append(f'<text x="{x + (slot - 10) / 2}" y="{bottom + 16}" font-size="11" text-anchor="middle" '
                    f'fill="#000">{escape(label)}</text>')
    return _frame(width, height, title, _describe(labels, values, unit), body)


def ranking(title: str, labels: Sequence[str], values: Sequence[float], marked: Sequence[bool],
            unit: str = "") -> str:
    """Horizontal bars, best first; the marked ones (the top three) black with a star."""
    row = 26
    width, left = 560, 150
    height = 16 + row * max(1, len(labels))
    peak = max(values, default=1) or 1
    body = []
    for i, (label, v, star) in enumerate(zip(labels, values, marked, strict=True)):
        y = 8 + i * row
        w = (width - left - 70) * v / peak
        body.append(f'<text x="{left - 8}" y="{y + 15}" font-size="12" text-anchor="end" fill="#000">'
                    f'{"★ " if star else ""}{escape(label)}</text>')
        body.append(f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 8}" '
                    f'fill="{"#000" if star else "#6b6b6b"}"/>')
        body.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}" font-size="12" fill="#000">{_fmt(v)}{escape(unit)}'
                    f'</text>')
    desc = _describe([("★ " if m else "") + label for label, m in zip(labels, marked, strict=True)], values, unit)
    return _frame(width, height, title, desc, body)


def trend(title: str, labels: Sequence[str], values: Sequence[float | None], target: float | None = None,
          unit: str = "%", low: float = 0, high: float = 100) -> str:
    """A line over months (gaps where there is no value), square markers, a dashed target line."""
    slot = 46
    # The target's label goes right of the plot, where no point or value can cover it.
    plot_right = max(360, 60 + slot * len(labels)) - 6
    width = plot_right + (110 if target is not None else 6)
    height, top, bottom = 240, 20, 200

    def y(v: float) -> float:
        return bottom - (bottom - top) * (v - low) / (high - low)

    body = [f'<line x1="44" y1="{bottom}" x2="{plot_right}" y2="{bottom}" stroke="#000"/>',
            f'<line x1="44" y1="{top}" x2="44" y2="{bottom}" stroke="#000"/>']
    for tick in (low, (low + high) / 2, high):
        body.append(f'<text x="40" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" fill="#000">'
                    f'{_fmt(tick)}{escape(unit)}</text>')
    if target is not None:
        body.append(f'<line x1="44" y1="{y(target):.1f}" x2="{plot_right}" y2="{y(target):.1f}" stroke="#000" '
                    f'stroke-dasharray="6 4"/>')
        body.append(f'<text x="{plot_right + 4}" y="{y(target) + 4:.1f}" font-size="11" fill="#000">'
                    f'目標 target {_fmt(target)}{escape(unit)}</text>')
    points: list[str] = []
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = 60 + i * slot
        body.append(f'<text x="{x}" y="{bottom + 16}" font-size="11" text-anchor="middle" fill="#000">'
                    f'{escape(label)}</text>')
        if v is None:
            if len(points) > 1:
                body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#000" stroke-width="2"/>')
            points = []
            continue
        points.append(f"{x},{y(v):.1f}")
        body.append(f'<rect x="{x - 4}" y="{y(v) - 4:.1f}" width="8" height="8" fill="#000"/>')
        body.append(f'<text x="{x}" y="{y(v) - 9:.1f}" font-size="11" text-anchor="middle" fill="#000">'
                    f'{_fmt(v)}</text>')
    if len(points) > 1:
        body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#000" stroke-width="2"/>')
    desc = _describe(labels, values, unit) + (f"; 目標 target {_fmt(target)}{unit}" if target is not None else "")
    return _frame(width, height, title, desc, body)


def spark(title: str, labels: Sequence[str], values: Sequence[float | None], target: float | None = None,
          unit: str = "%", low: float = 0, high: float = 100) -> str:
    """A small line for a table cell (small multiples: give every row the same `low`, `high`).

    Months at or above the target are filled squares, those below it hollow ones, so the reading
    survives grayscale print; the dashed line is the target, the last value is written at the end,
    the first and last months under the line, and every value is in the <desc>.
    """
    slot, left, top, bottom = 9, 4, 6, 34
    right = left + slot * (len(labels) - 1)
    width, height = right + 44, 50

    def y(v: float) -> float:
        return bottom - (bottom - top) * (min(high, max(low, v)) - low) / (high - low)

    body = [f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#767676"/>']
    if target is not None:
        body.append(f'<line x1="{left}" y1="{y(target):.1f}" x2="{right}" y2="{y(target):.1f}" stroke="#000" '
                    f'stroke-dasharray="3 2" stroke-width="0.8"/>')
    points: list[str] = []
    runs: list[list[str]] = [points]
    for i, v in enumerate(values):
        if v is None:
            points = []
            runs.append(points)
            continue
        x = left + i * slot
        points.append(f"{x},{y(v):.1f}")
    body += [f'<polyline points="{" ".join(run)}" fill="none" stroke="#000" stroke-width="1.5"/>'
             for run in runs if len(run) > 1]
    for i, v in enumerate(values):
        if v is not None:
            met = target is None or v >= target
            body.append(f'<rect x="{left + i * slot - 2.5}" y="{y(v) - 2.5:.1f}" width="5" height="5" '
                        f'fill="{"#000" if met else "#fff"}" stroke="#000"/>')
    last = next(((i, v) for i, v in reversed(list(enumerate(values))) if v is not None), None)
    if last is not None:
        body.append(f'<text x="{right + 6}" y="{y(last[1]) + 4:.1f}" font-size="11" fill="#000">'
                    f'{_fmt(last[1])}</text>')
    if labels:
        body.append(f'<text x="{left}" y="{height - 2}" font-size="9" fill="#000">{escape(labels[0])}</text>')
        body.append(f'<text x="{right}" y="{height - 2}" font-size="9" text-anchor="end" fill="#000">'
                    f'{escape(labels[-1])}</text>')
    desc = _describe(labels, values, unit) + (f"; 目標 target {_fmt(target)}{unit}" if target is not None else "")
    return _frame(width, height, title, desc, body, fixed=True)
